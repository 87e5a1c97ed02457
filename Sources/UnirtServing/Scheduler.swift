/// Serving core: scheduler, dynamic batcher, queues (pure Swift, no libuv).
import UnirtIR
