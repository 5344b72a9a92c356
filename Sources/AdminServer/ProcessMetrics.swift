import CoreMetrics
import Foundation
import Synchronization

/// The process metrics Prometheus clients export (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// …), read from `/proc/self` at each scrape.
enum ProcessMetrics {
    private static let cpu = FloatingPointCounter(label: "process_cpu_seconds_total")
    private static let cpuReported = Mutex<Double>(0)

    static func refresh() {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return }
        // After "pid (comm)": fields 3…, so index 0 here is field 3 (state).
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 21, let userTicks = Double(fields[11]), let systemTicks = Double(fields[12]),
              let startTicks = Double(fields[19]), let virtualBytes = Double(fields[20]), let residentPages = Double(fields[21]) else { return }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let seconds = (userTicks + systemTicks) / ticks
        let increase = cpuReported.withLock { reported in
            defer { reported = max(reported, seconds) }
            return max(0, seconds - reported)
        }
        if increase > 0 { cpu.increment(by: increase) }
        Gauge(label: "process_resident_memory_bytes").record(residentPages * pageSize)
        Gauge(label: "process_virtual_memory_bytes").record(virtualBytes)
        if let boot = bootTime() { Gauge(label: "process_start_time_seconds").record(boot + startTicks / ticks) }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            Gauge(label: "process_open_fds").record(descriptors.count)
        }
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 { Gauge(label: "process_max_fds").record(Double(limit.rlim_cur)) }
    }

    /// When the machine booted (seconds since the epoch), from `/proc/stat`'s `btime`.
    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
    }
}
