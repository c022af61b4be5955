
import Glibc
import Synchronization

/// Starts programs with `posix_spawnp` in a new process group, in the caller's working directory, feeds stdin, captures stdout and
/// stderr up to a cap while counting the rest, and enforces the timeout by killing the whole
/// group (SIGTERM, then SIGKILL after a grace period). Never uses `Foundation.Process`.
///
/// Each run blocks a thread of its own (a detached pthread), so that as many commands run at
/// once as the caller starts, whatever the number of cores; the async ``run(_:)`` hops onto it.
public struct POSIXSpawner: ProcessSpawner {
    public var clock: any WallClock

    public init(clock: any WallClock = SystemClock()) {
        self.clock = clock
        Self.ignoreSIGPIPE
    }

    /// Writing to a pipe whose reader has gone must give EPIPE, not kill the node.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    private static let spawnLock = Mutex(())

    public func run(_ invocation: ProcessInvocation) async -> ProcessOutcome {
        await withCheckedContinuation { continuation in
            BlockingThread.start {
                continuation.resume(returning: runBlocking(invocation))
            }
        }
    }

    /// The same run, on the calling thread.
    public func runBlocking(_ invocation: ProcessInvocation) -> ProcessOutcome {
        let started = clock.now()
        let startTime = Monotonic.seconds()
        // Without closefrom in the child, pipes are created and marked close-on-exec under the
        // spawn lock, so no program started by another thread can inherit them.
        let spawned = GNUExtensions.addCloseFrom == nil ? Self.spawnLock.withLock { _ in spawn(invocation) } : spawn(invocation)
        switch spawned {
        case .failed(let why):
            return notStarted(why, started)
        case .started(let pid, let stdinFD, let stdoutFD, let stderrFD):
            var session = ChildProcess(
                pid: pid, stdinFD: stdinFD, stdoutFD: stdoutFD, stderrFD: stderrFD, invocation: invocation, startTime: startTime)
            session.loop()
            return ProcessOutcome(
                termination: session.termination, timedOut: session.timedOut, started: started,
                duration: session.exitTime - startTime, stdout: session.stdout, stderr: session.stderr,
                note: session.note)
        }
    }

    /// What starting a program gave: the child and the parent's ends of its three pipes.
    private enum Spawned {
        case started(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32)
        case failed(String)
    }

    /// Creates the pipes and starts the program (under the spawn lock when the C library has no
    /// closefrom for the child).
    private func spawn(_ invocation: ProcessInvocation) -> Spawned {
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard makePipe(&stdinPipe), makePipe(&stdoutPipe), makePipe(&stderrPipe) else {
            closeAll(stdinPipe + stdoutPipe + stderrPipe)
            return .failed("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        // The program gets stdin, stdout and stderr, nothing else: not the node's sockets, not
        // another command's pipes (a listening socket held by an orphan would block a restart).
        _ = GNUExtensions.addCloseFrom?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var pid: pid_t = 0
        let spawnStatus = withCStrings(invocation.arguments) { argv in
            withCStrings(invocation.environment) { envp in
                posix_spawnp(&pid, argv[0]!, &actions, &attributes, argv, envp)
            }
        }
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawnStatus == 0 else {
            closeAll([stdinPipe[1], stdoutPipe[0], stderrPipe[0]])
            let program = invocation.arguments.first ?? ""
            return .failed("cannot start '\(program)': \(String(cString: strerror(spawnStatus)))")
        }
        return .started(pid: pid, stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0])
    }

    private func notStarted(_ why: String, _ started: Timestamp) -> ProcessOutcome {
        ProcessOutcome(termination: .failedToStart(why), started: started, duration: 0)
    }
}

private func makePipe(_ fds: inout [Int32]) -> Bool {
    if let pipe2 = GNUExtensions.pipe2 {
        return fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, O_CLOEXEC) } == 0
    }
    guard pipe(&fds) == 0 else { return false }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
}

/// glibc functions that Swift's Glibc module does not import (they need `_GNU_SOURCE`),
/// looked up at run time with their C calling convention. nil where the C library lacks them.
enum GNUExtensions {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34 and later).
    static let addCloseFrom: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    /// `pipe2` (creates both ends close-on-exec in one step).
    static let pipe2: Pipe2? = symbol("pipe2")

    private static func symbol<T>(_ name: String) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }
}

private func closeAll(_ fds: [Int32]) {
    for fd in fds where fd >= 0 { close(fd) }
}

private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}

/// The poll loop of one running program.
private struct ChildProcess {
    let pid: pid_t
    var stdinFD: Int32
    var stdoutFD: Int32
    var stderrFD: Int32
    let invocation: ProcessInvocation
    let startTime: Double

    var stdout = CapturedOutput()
    var stderr = CapturedOutput()
    var stdinOffset = 0
    var exited = false
    var exitTime: Double = 0
    var termination = Termination.exited(0)
    var timedOut = false
    var termSentAt: Double?
    var killSent = false
    var note: String?

    init(pid: pid_t, stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32, invocation: ProcessInvocation, startTime: Double) {
        self.pid = pid
        self.stdinFD = stdinFD
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
        self.invocation = invocation
        self.startTime = startTime
        for fd in [stdinFD, stdoutFD, stderrFD] {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        if (invocation.stdin?.count ?? 0) == 0 { closeStdin() }
    }

    mutating func loop() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var fds: [pollfd] = []
        while true {
            let now = Monotonic.seconds()
            reapIfExited(now: now)
            enforceTimeout(now: now)
            if exited && stdinFD >= 0 { closeStdin() }
            if stdoutFD < 0 && stderrFD < 0 {
                if exited { break }
                waitBriefly()
                continue
            }
            if exited && now - exitTime > invocation.drainGrace {
                note = "stopped reading output \(YAMLEmitter.formatSeconds(invocation.drainGrace)) s after the command exited: a background process it started still holds stdout or stderr open"
                closeReaders()
                break
            }

            fds.removeAll(keepingCapacity: true)
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            // Wake up at least every 50 ms to notice an exit whose pipes a background process holds.
            let ready = poll(&fds, nfds_t(fds.count), pollTimeout(now: now))
            if ready < 0 {
                if errno == EINTR { continue }
                // poll itself failed: stop the program rather than wait for it blind.
                note = "the runner could not watch the command (poll: \(String(cString: strerror(errno)))); its process group was killed"
                kill(-pid, SIGKILL)
                killSent = true
                Self.closeFD(&stdinFD)
                closeReaders()
                break
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdinFD {
                    writeStdin()
                } else if entry.fd == stdoutFD {
                    if !Self.drain(fd: entry.fd, cap: invocation.outputCap, into: &stdout, buffer: &buffer) {
                        Self.closeFD(&stdoutFD)
                    }
                } else if entry.fd == stderrFD {
                    if !Self.drain(fd: entry.fd, cap: invocation.outputCap, into: &stderr, buffer: &buffer) {
                        Self.closeFD(&stderrFD)
                    }
                }
            }
        }
        if !exited { reap(blocking: true) }
    }

    private func pollTimeout(now: Double) -> Int32 {
        var wait = 0.05
        if !timedOut { wait = min(wait, startTime + invocation.timeout - now) }
        return Int32(max(0, (wait * 1000).rounded(.up)))
    }

    private mutating func waitBriefly() {
        var request = timespec(tv_sec: 0, tv_nsec: 100_000)
        nanosleep(&request, nil)
        let now = Monotonic.seconds()
        reapIfExited(now: now)
        enforceTimeout(now: now)
        if !exited, Monotonic.seconds() - startTime > 0.01 {
            var longer = timespec(tv_sec: 0, tv_nsec: 5_000_000)
            nanosleep(&longer, nil)
        }
    }

    private mutating func enforceTimeout(now: Double) {
        guard !exited || stdoutFD >= 0 || stderrFD >= 0 else { return }
        if !timedOut, now - startTime >= invocation.timeout {
            timedOut = !exited
            if timedOut {
                kill(-pid, SIGTERM)
                termSentAt = now
            }
        }
        if let sentAt = termSentAt, !killSent, now - sentAt >= invocation.killGrace {
            kill(-pid, SIGKILL)
            killSent = true
        }
    }

    private mutating func reapIfExited(now: Double) {
        guard !exited else { return }
        reap(blocking: false)
        if exited { exitTime = now }
    }

    private mutating func reap(blocking: Bool) {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if result == pid { break }
            if result == 0 { return }
            if result < 0 && errno == EINTR { continue }
            exited = true
            exitTime = Monotonic.seconds()
            termination = .failedToStart("lost track of process \(pid)")
            return
        }
        exited = true
        exitTime = Monotonic.seconds()
        let low = status & 0x7F
        termination = low == 0 ? .exited((status >> 8) & 0xFF) : .signaled(low)
    }

    private mutating func writeStdin() {
        guard let input = invocation.stdin else { return closeStdin() }
        while stdinOffset < input.count {
            let written = input.withUnsafeBytes { bytes in
                write(stdinFD, bytes.baseAddress! + stdinOffset, min(input.count - stdinOffset, 65536))
            }
            if written > 0 {
                stdinOffset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else if written < 0 && errno == EAGAIN {
                return
            } else {
                break  // EPIPE: the program does not read its stdin
            }
        }
        closeStdin()
    }

    /// Reads what is available; false at end of file.
    private static func drain(fd: Int32, cap: Int, into output: inout CapturedOutput, buffer: inout [UInt8]) -> Bool {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                let room = max(0, cap - output.bytes.count)
                if room > 0 { output.bytes.append(contentsOf: buffer[0..<min(room, count)]) }
                output.droppedBytes += max(0, count - room)
                if count < buffer.count { return true }
            } else if count == 0 {
                return false
            } else if errno == EINTR {
                continue
            } else {
                return errno == EAGAIN
            }
        }
    }

    private mutating func closeStdin() { Self.closeFD(&stdinFD) }

    private mutating func closeReaders() {
        Self.closeFD(&stdoutFD)
        Self.closeFD(&stderrFD)
    }

    private static func closeFD(_ fd: inout Int32) {
        if fd >= 0 { close(fd) }
        fd = -1
    }
}

/// Runs blocking work on a detached thread of its own (commands wait in `poll` and `waitpid`;
/// a shared pool sized to the cores would let only that many run at once).
public enum BlockingThread {
    private final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached thread (or, if no thread can be had, runs it here).
    public static func start(_ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 512 << 10)
        let context = Unmanaged.passRetained(Work(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        if status != 0 {
            // No thread to be had: run here rather than not at all.
            Unmanaged<Work>.fromOpaque(context).takeRetainedValue().body()
        }
    }
}
