/// Graph optimizer: passes and pipelines (see docs/ARCHITECTURE.md).
import UnirtIR
