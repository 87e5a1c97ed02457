import ArgumentParser

/// INT8 calibration flags of `unirt build`.
struct CalibrationOptions: ParsableArguments {
    @Option(name: .long, help: "Calibration data: a folder of .npy input tensors (one file per sample or a stack of samples; subfolders per input name for several inputs). Images are refused: convert them to .npy first.")
    var calib: String?

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
}
