/// Client library for unirtd.
import UnirtIR
