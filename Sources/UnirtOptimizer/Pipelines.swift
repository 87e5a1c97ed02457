/// How much the optimizer rewrites a graph (`--opt-level`).
public enum OptimizationLevel: Int, Sendable, CaseIterable {
    /// No rewrites: the graph runs as imported.
    case none = 0
    /// Rewrites that keep every operator's meaning: folding, removal, cancellation,
    /// BatchNormalization folded into weights, Pad folded into Conv.
    case basic = 1
    /// Basic plus fusions into `FusedConv`, `FusedPointwiseDepthwise` and `InstanceNormalization`.
    case extended = 2
}

/// The one ordered list of passes per level.
public enum Pipelines {
    /// Passes of `level`, in the order they run. A name may appear twice when a
    /// later pass creates new matches for it (disabling the name removes both).
    public static func passes(for level: OptimizationLevel) -> [any OptimizationPass] {
        let basic: [any OptimizationPass] = [
            ConstantFolding(),
            IdentityElimination(),
            TransposeReshapeCancellation(),
            PadConvFolding(),
            BatchNormFolding(),
        ]
        switch level {
        case .none:
            return []
        case .basic:
            return basic + [DeadNodeElimination()]
        case .extended:
            // Residual Add first turns Conv → Add into a FusedConv with Z added before
            // the activation, so the activation fusion that follows also takes
            // Conv → Add → Relu; Conv → Relu → Add needs the activation fused first,
            // hence the second run. The pointwise-depthwise fusion then takes the
            // finished convolutions.
            return basic + [
                InstanceNormFusion(),
                InstanceNormAffineFusion(),
                ResidualAddFusion(),
                ConvActivationFusion(),
                ResidualAddFusion(),
                PointwiseDepthwiseFusion(),
                SiblingConvMerge(),
                DeadNodeElimination(),
            ]
        }
    }
}
