import ArgumentParser
import UnirtImage
import UnirtRuntime

/// INT8 calibration flags of `unirt build`.
struct CalibrationOptions: ParsableArguments {
    @Option(name: .long, help: "Calibration data: a folder of .npy input tensors (one file per sample or a stack of samples) or JPEG/PNG images (with --calib-preprocess); subfolders per input name for several inputs.")
    var calib: String?

    @Option(name: .long, help: "How --calib images become input tensors, e.g. \"size=112x112 fit=align order=rgb mean=0 std=1\" (keys: size, fit=stretch|letterbox|letterbox-center|crop|align, order=rgb|bgr, mean, std, layout=nchw|nhwc).")
    var calibPreprocess: String?

    @Option(name: .long, help: "Threshold method: entropy, minmax, percentile or mse.")
    var calibMethod: String = "entropy"

    @Option(name: .long, help: "Percentile for --calib-method percentile.")
    var percentile: Double = 99.99

    @Option(name: .long, help: "Calibration cache: read it instead of data when it exists, else write it.")
    var calibCache: String?

    @Option(name: .long, help: "Accuracy target on the calibration set: cosine=0.99 or psnr=30.")
    var accuracyTarget: String?

    @Flag(name: .long, help: ArgumentHelp(
        "Refine each int8 input scale by search around the calibrated one.",
        discussion: "For each activation tensor an int8 layer reads: that tensor's readers alone in int8, scales from 0.5x to 1.25x the calibrated one, keeping the one whose model outputs have the highest worst-sample SQNR against FP32 on up to 8 calibration samples (the mean breaks ties, the calibrated scale wins exact ones). Needs --calib. Costs about 8 model runs per sample and tensor."))
    var refineScales = false

    @Option(name: .long, help: "Quantize only convolutions whose reduction C/group·kh·kw is at least N (smaller ones run faster in FP32).")
    var int8MinReduction: Int = 128

    @Option(name: .long, help: "Write calibration statistics (histograms, sensitivity, decisions) as JSON for `unirt report`.")
    var calibStats: String?

    @Option(name: .long, help: ArgumentHelp(
        "Bits per int8 weight: 8 (-127...127) or 7 (-63...63).",
        discussion: "AVX2 CPUs without VNNI multiply 7-bit weights about 1.3x faster: their u8 x s8 instruction (VPMADDUBSW) sums two products into a saturating int16, which only 7-bit weights keep exact. Default: 7 for a CPU plan built on such a CPU, else 8. GPU plans take 8."))
    var int8WeightBits: Int?

    @Flag(name: .long, inversion: .prefixedNo, help: ArgumentHelp(
        "Time the int8 layers against FP32 on this machine and keep only the faster (CPU plans).",
        discussion: "After the accuracy step, the plan runs with its int8 candidates and all in FP32 alternately (per-step profiling, medians); a layer, or layers that change precision together such as a 1x1 convolution fused with a depthwise one in FP32, stays int8 only when at least 3% faster, and the plan as chosen must not be slower than FP32. Takes a few seconds; the layer choice then depends on the machine and its load. --no-int8-speed-check for reproducible builds."))
    var int8SpeedCheck = true

    @Option(name: .long, help: "Threads the speed check runs the plans with (default: all cores); the thread count the plan will run at.")
    var int8SpeedThreads: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Speed-check timing cache: reuse a build's layer choice from it, else time and add it.",
        discussion: "A JSON file keyed by everything the timing depends on (the source model, batch, int8 candidates and the layers already in FP32, weight bits, threads, the CPU and its kernels, the unirt executable). A rebuild that finds its key makes the same layer choice without timing; another CPU, thread count or model times and adds an entry."))
    var timingCache: String?

    /// Largest |q| of the int8 weights: 127 (8-bit) or 63 (7-bit), from `--int8-weight-bits`
    /// or, by default, 63 for a CPU plan built where the AVX2 kernels without VNNI will run it.
    func weightLevels(gpu: Bool) throws -> Int {
        switch int8WeightBits {
        case nil: return !gpu && !Int8Kernels.vnni && CPUInfo.features.contains("avx2") ? 63 : 127
        case 8: return 127
        case 7:
            if gpu { throw CLIError("--int8-weight-bits 7: GPU plans take 8-bit weights (the option is for AVX2 CPUs)") }
            return 63
        case let bits?: throw CLIError("--int8-weight-bits: \(bits) is not 7 or 8")
        }
    }

    /// The parsed `--calib-preprocess` spec, if given.
    func imagePreprocessing() throws -> ImagePreprocessing? {
        guard let spec = calibPreprocess else { return nil }
        do { return try ImagePreprocessing(spec: spec) } catch let e as ImageError {
            throw CLIError("--calib-preprocess: \(e.message)")
        }
    }
}
