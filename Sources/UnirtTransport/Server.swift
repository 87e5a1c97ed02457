/// Transport: libuv loop, Unix socket, protobuf-c framing.
import CUV
