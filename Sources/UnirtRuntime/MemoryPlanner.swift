/// Assigns activation buffers to offsets in one arena so that buffers whose
/// lifetimes overlap never overlap in memory.
///
/// Greedy by size: the largest buffers are placed first, each at the lowest
/// offset that does not collide with an already placed buffer whose lifetime
/// overlaps. Offsets and sizes are in floats, aligned to 16 floats (64 bytes).
public struct MemoryPlanner {
    public struct Request {
        /// Size in floats.
        public var size: Int
        /// First step that writes the buffer (inclusive).
        public var first: Int
        /// Last step that reads it (inclusive).
        public var last: Int

        public init(size: Int, first: Int, last: Int) {
            self.size = size
            self.first = first
            self.last = last
        }
    }

    public static let alignment = 16

    /// Offsets for each request, and the arena size (in floats).
    public static func plan(_ requests: [Request]) -> (offsets: [Int], arenaSize: Int) {
        func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
        let order = requests.indices.sorted {
            requests[$0].size != requests[$1].size ? requests[$0].size > requests[$1].size : $0 < $1
        }
        var offsets = [Int](repeating: 0, count: requests.count)
        var placed: [Int] = []
        var arena = 0
        for i in order {
            let r = requests[i]
            let size = aligned(max(r.size, 1))
            // Intervals of overlapping-lifetime buffers, by offset.
            let busy = placed.filter { requests[$0].first <= r.last && r.first <= requests[$0].last }
                .map { (offsets[$0], offsets[$0] + aligned(max(requests[$0].size, 1))) }
                .sorted { $0.0 < $1.0 }
            var candidate = 0
            for (lo, hi) in busy {
                if candidate + size <= lo { break }
                candidate = max(candidate, hi)
            }
            offsets[i] = candidate
            placed.append(i)
            arena = max(arena, candidate + size)
        }
        return (offsets, arena)
    }
}
