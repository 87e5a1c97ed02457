/// The one list of operators unirt knows. Adding a case requires a file under
/// `Ops/` with its `Operator` definition, a section in docs/operators.md, and an
/// entry in `definition` below; `OperatorRegistryTests` fails until all exist.
public enum OpKind: String, Sendable, CaseIterable, Hashable {
    case abs = "Abs"
    case add = "Add"
    case averagePool = "AveragePool"
    case batchNormalization = "BatchNormalization"
    case cast = "Cast"
    case ceil = "Ceil"
    case clip = "Clip"
    case concat = "Concat"
    case constant = "Constant"
    case constantOfShape = "ConstantOfShape"
    case conv = "Conv"
    case convTranspose = "ConvTranspose"
    case dequantizeLinear = "DequantizeLinear"
    case div = "Div"
    case dropout = "Dropout"
    case equal = "Equal"
    case exp = "Exp"
    case expand = "Expand"
    case flatten = "Flatten"
    case floor = "Floor"
    case fusedConv = "FusedConv"
    case fusedPointwiseDepthwise = "FusedPointwiseDepthwise"
    case gather = "Gather"
    case gemm = "Gemm"
    case globalAveragePool = "GlobalAveragePool"
    case globalMaxPool = "GlobalMaxPool"
    case greater = "Greater"
    case hardSigmoid = "HardSigmoid"
    case hardSwish = "HardSwish"
    case identity = "Identity"
    case instanceNormalization = "InstanceNormalization"
    case leakyRelu = "LeakyRelu"
    case less = "Less"
    case log = "Log"
    case matMul = "MatMul"
    case max = "Max"
    case maxPool = "MaxPool"
    case min = "Min"
    case mul = "Mul"
    case neg = "Neg"
    case pad = "Pad"
    case pow = "Pow"
    case pRelu = "PRelu"
    case quantizeLinear = "QuantizeLinear"
    case reciprocal = "Reciprocal"
    case reduceMax = "ReduceMax"
    case reduceMean = "ReduceMean"
    case reduceMin = "ReduceMin"
    case reduceSum = "ReduceSum"
    case relu = "Relu"
    case reshape = "Reshape"
    case resize = "Resize"
    case shape = "Shape"
    case sigmoid = "Sigmoid"
    case slice = "Slice"
    case softmax = "Softmax"
    case split = "Split"
    case sqrt = "Sqrt"
    case squeeze = "Squeeze"
    case sub = "Sub"
    case tanh = "Tanh"
    case transpose = "Transpose"
    case unsqueeze = "Unsqueeze"
    case upsample = "Upsample"
    case `where` = "Where"

    /// The operator's schema, validation, shape inference and reference kernel.
    public var definition: any Operator.Type {
        switch self {
        case .abs: return AbsOp.self
        case .add: return AddOp.self
        case .averagePool: return AveragePoolOp.self
        case .batchNormalization: return BatchNormalizationOp.self
        case .cast: return CastOp.self
        case .ceil: return CeilOp.self
        case .clip: return ClipOp.self
        case .concat: return ConcatOp.self
        case .constant: return ConstantOp.self
        case .constantOfShape: return ConstantOfShapeOp.self
        case .conv: return ConvOp.self
        case .convTranspose: return ConvTransposeOp.self
        case .dequantizeLinear: return DequantizeLinearOp.self
        case .div: return DivOp.self
        case .dropout: return DropoutOp.self
        case .equal: return EqualOp.self
        case .exp: return ExpOp.self
        case .expand: return ExpandOp.self
        case .flatten: return FlattenOp.self
        case .floor: return FloorOp.self
        case .fusedConv: return FusedConvOp.self
        case .fusedPointwiseDepthwise: return FusedPointwiseDepthwiseOp.self
        case .gather: return GatherOp.self
        case .gemm: return GemmOp.self
        case .globalAveragePool: return GlobalAveragePoolOp.self
        case .globalMaxPool: return GlobalMaxPoolOp.self
        case .greater: return GreaterOp.self
        case .hardSigmoid: return HardSigmoidOp.self
        case .hardSwish: return HardSwishOp.self
        case .identity: return IdentityOp.self
        case .instanceNormalization: return InstanceNormalizationOp.self
        case .leakyRelu: return LeakyReluOp.self
        case .less: return LessOp.self
        case .log: return LogOp.self
        case .matMul: return MatMulOp.self
        case .max: return MaxOp.self
        case .maxPool: return MaxPoolOp.self
        case .min: return MinOp.self
        case .mul: return MulOp.self
        case .neg: return NegOp.self
        case .pad: return PadOp.self
        case .pow: return PowOp.self
        case .pRelu: return PReluOp.self
        case .quantizeLinear: return QuantizeLinearOp.self
        case .reciprocal: return ReciprocalOp.self
        case .reduceMax: return ReduceMaxOp.self
        case .reduceMean: return ReduceMeanOp.self
        case .reduceMin: return ReduceMinOp.self
        case .reduceSum: return ReduceSumOp.self
        case .relu: return ReluOp.self
        case .reshape: return ReshapeOp.self
        case .resize: return ResizeOp.self
        case .shape: return ShapeOp.self
        case .sigmoid: return SigmoidOp.self
        case .slice: return SliceOp.self
        case .softmax: return SoftmaxOp.self
        case .split: return SplitOp.self
        case .sqrt: return SqrtOp.self
        case .squeeze: return SqueezeOp.self
        case .sub: return SubOp.self
        case .tanh: return TanhOp.self
        case .transpose: return TransposeOp.self
        case .unsqueeze: return UnsqueezeOp.self
        case .upsample: return UpsampleOp.self
        case .`where`: return WhereOp.self
        }
    }
}

extension OpKind {
    /// Operators the optimizer creates; the ONNX importer refuses them in model files.
    public static let internalOnly: Set<OpKind> = [.fusedConv, .fusedPointwiseDepthwise]
}
