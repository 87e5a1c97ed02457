import ArgumentParser
import UnirtImage

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

    @Option(name: .long, help: "Quantize only convolutions whose reduction C/group·kh·kw is at least N (smaller ones run faster in FP32).")
    var int8MinReduction: Int = 128

    @Option(name: .long, help: "Write calibration statistics (histograms, sensitivity, decisions) as JSON for `unirt report`.")
    var calibStats: String?

    /// The parsed `--calib-preprocess` spec, if given.
    func imagePreprocessing() throws -> ImagePreprocessing? {
        guard let spec = calibPreprocess else { return nil }
        do { return try ImagePreprocessing(spec: spec) } catch let e as ImageError {
            throw CLIError("--calib-preprocess: \(e.message)")
        }
    }
}
