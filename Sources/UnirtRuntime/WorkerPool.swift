import Foundation
import Synchronization

/// The fixed threads behind `parallelFor`: one worker per extra core, started
/// on first use and kept for the life of the process.
///
/// A job is split into parts that the calling thread and the workers claim
/// with an atomic counter; the caller returns once every part is done. After
/// a job the workers spin briefly (yielding the core to any runnable thread,
/// such as OpenBLAS's) so that the next kernel of a plan finds them awake,
/// then sleep on a condition variable. One job runs at a time: a caller that
/// finds the pool busy (another plan running concurrently) runs its parts
/// itself, so cores are never oversubscribed by unirt's own loops.
final class WorkerPool: @unchecked Sendable {
    /// The process-wide pool: one worker per core beyond the first.
    static let shared = WorkerPool(workers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    /// Workers (the caller is one more participant).
    let workers: Int
    /// Held by the caller that owns the current job.
    private let submit = Mutex<Bool>(false)
    /// The current job in one word: generation (bits 48...), part count
    /// (bits 24..<48) and the next part to claim (bits 0..<24). Claiming is
    /// one fetch-add, so a worker that wakes late can never mix one job's
    /// part index with another job's count.
    private let ticket = Atomic<Int>(0)
    /// Parts of the current job finished.
    private let finished = Atomic<Int>(0)
    /// Workers asleep on `wake`.
    private let sleepers = Atomic<Int>(0)
    /// The current job's body. Written by the owning caller before `ticket`
    /// is published (release); read by workers only after a valid claim
    /// (acquire), while the job cannot finish.
    private var body: ((Int) -> Void)?
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>

    /// How long an idle worker spins before it sleeps.
    static let spin = Duration.microseconds(300)
    /// The first part of the spin polls without yielding, so the worker stays
    /// on its core (a yielding thread can end up sharing the caller's).
    static let busySpin = Duration.microseconds(100)
    static let maxParts = 1 << 20

    init(workers: Int) {
        self.workers = workers
        lock = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<workers {
            let t = Thread { [unowned self] in self.workerLoop() }
            t.name = "unirt.worker"
            t.start()
        }
    }

    /// Runs `body(part)` for every part in `0..<parts` on up to `1 + workers`
    /// threads (the caller included) and returns when all are done.
    func run(parts: Int, _ body: (Int) -> Void) {
        guard parts > 1, parts < Self.maxParts, workers > 0, submit.withLock({ busy in
            if busy { return false }
            busy = true
            return true
        }) else {
            for p in 0..<parts { body(p) }
            return
        }
        defer { submit.withLock { $0 = false } }
        withoutActuallyEscaping(body) { body in
            self.body = body
            finished.store(0, ordering: .relaxed)
            let generation = (ticket.load(ordering: .relaxed) >> 48) + 1
            ticket.store(generation << 48 | parts << 24, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(lock)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(lock)
            }
            claimParts()
            while finished.load(ordering: .acquiring) < parts { sched_yield() }
            self.body = nil
        }
    }

    /// Runs parts of the current job until none is left.
    private func claimParts() {
        while true {
            let t = ticket.add(1, ordering: .acquiringAndReleasing).oldValue
            let part = t & 0xFF_FFFF, parts = (t >> 24) & 0xFF_FFFF
            if part >= parts { return }
            body!(part)
            finished.add(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        var seen = ticket.load(ordering: .acquiring) >> 48
        while true {
            // Spin (yielding) for a while, then sleep until a job is posted.
            let start = ContinuousClock.now
            while ticket.load(ordering: .acquiring) >> 48 == seen, ContinuousClock.now - start < Self.spin {
                if ContinuousClock.now - start > Self.busySpin { sched_yield() }
            }
            if ticket.load(ordering: .acquiring) >> 48 == seen {
                pthread_mutex_lock(lock)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while ticket.load(ordering: .sequentiallyConsistent) >> 48 == seen {
                    pthread_cond_wait(wake, lock)
                }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(lock)
            }
            seen = ticket.load(ordering: .acquiring) >> 48
            claimParts()
        }
    }
}
