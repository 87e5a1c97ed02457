import UnirtIR
import UnirtPlan

/// Calibrates activations, quantizes weights and chooses per-layer precision for an int8 plan.
struct Int8Builder {
    struct Result {
        var graph: Graph
        var layerPrecision: [String: String]
        var encodings: [String: WeightEncoding]
        var activationScales: [String: Float]
        var method: String
        var calibrationSHA256: String?
        var achieved: String?
        var requiredFeatures: [String]
    }

    let graph: Graph
    let reference: Graph
    let options: CalibrationOptions
    let batch: Int?

    func build() throws -> Result {
        throw CLIError("int8 plans need calibration support, which this build lacks")
    }
}
