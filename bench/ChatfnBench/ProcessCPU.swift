import Foundation

/// CPU time used so far, split the way the lane benchmark reports it: chatfn (this process, librdkafka's
/// client threads included), the embedded broker (librdkafka's mock cluster thread, in this process too),
/// and the Node workers (every descendant process: node and the sandbox wrappers it was started by).
struct ProcessCPU {
    var chatfn: Double
    var broker: Double
    var workers: Double

    static func now() -> ProcessCPU {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let own = getpid()
        let processes = allProcesses()
        let mine = processes[own].map { Double($0.utime + $0.stime) / ticks } ?? 0
        let broker = threads(of: own).filter { $0.comm.hasPrefix("rdk:mock") }.reduce(0) { $0 + $1.seconds }
        var parents: [Int32: Int32] = [:]
        for (pid, process) in processes { parents[pid] = process.ppid }
        func descends(_ pid: Int32) -> Bool {
            var current = parents[pid]
            var hops = 0
            while let parent = current, hops < 64 {
                if parent == own { return true }
                current = parents[parent]
                hops += 1
            }
            return false
        }
        let workers = processes.filter { descends($0.key) }.reduce(0.0) { $0 + Double($1.value.utime + $1.value.stime) / ticks }
        return ProcessCPU(chatfn: mine - broker, broker: broker, workers: workers)
    }

    static func - (after: ProcessCPU, before: ProcessCPU) -> ProcessCPU {
        ProcessCPU(chatfn: after.chatfn - before.chatfn, broker: after.broker - before.broker, workers: after.workers - before.workers)
    }

    /// "chatfn 1.23 s, Node workers 0.45 s, broker 0.12 s" per `events` scaled to 100,000.
    func per100k(events: Int) -> String {
        let scale = 100_000 / Double(max(events, 1))
        func format(_ seconds: Double) -> String { String(format: "%.2f s", seconds * scale) }
        return "chatfn \(format(chatfn)), Node workers \(format(workers)), broker \(format(broker)), total \(format(chatfn + workers + broker))"
    }

    private struct Stat {
        var comm: String
        var ppid: Int32
        var utime: Int
        var stime: Int
    }

    /// `/proc/<pid>/stat`: the name is in parentheses and may hold spaces; the fields after it are plain.
    private static func stat(_ path: String) -> Stat? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the name: state(0) ppid(1) … utime(11) stime(12).
        guard fields.count > 12, let ppid = Int32(fields[1]), let utime = Int(fields[11]), let stime = Int(fields[12]) else { return nil }
        return Stat(comm: String(text[text.index(after: open)..<close]), ppid: ppid, utime: utime, stime: stime)
    }

    private static func allProcesses() -> [Int32: Stat] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var result: [Int32: Stat] = [:]
        for entry in entries {
            guard let pid = Int32(entry), let stat = stat("/proc/\(entry)/stat") else { continue }
            result[pid] = stat
        }
        return result
    }

    /// The threads of `pid` with their run time in seconds (`schedstat`, nanoseconds).
    private static func threads(of pid: Int32) -> [(comm: String, seconds: Double)] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { tid in
            guard let comm = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8),
                  let schedstat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/schedstat", encoding: .utf8),
                  let first = schedstat.split(separator: " ").first, let nanoseconds = Double(first) else { return nil }
            return (comm.trimmingCharacters(in: .whitespacesAndNewlines), nanoseconds / 1e9)
        }
    }
}
