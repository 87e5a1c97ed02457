/// CUDA backend: libraries loaded with dlopen at run time.
import UnirtIR
