import ArgumentParser

/// INT8 calibration flags of `unirt build`.
struct CalibrationOptions: ParsableArguments {
    @Option(name: .long, help: "Calibration data: a folder of .npy input tensors (one file per sample, or subfolders per input name).")
    var calib: String?

    @Option(name: .long, help: "Threshold method: entropy, minmax, percentile or mse.")
    var calibMethod: String = "entropy"

    @Option(name: .long, help: "Percentile for --calib-method percentile.")
    var percentile: Double = 99.99

    @Option(name: .long, help: "Calibration cache: read it instead of data when it exists, else write it.")
    var calibCache: String?

    @Option(name: .long, help: "Accuracy target on the calibration set: cosine=0.99 or psnr=30.")
    var accuracyTarget: String?
}
