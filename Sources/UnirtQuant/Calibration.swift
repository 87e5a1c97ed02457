/// INT8 calibration and quantization (see docs/ARCHITECTURE.md).
import UnirtIR
