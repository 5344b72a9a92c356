import ChatEvents
/// A short, stable fingerprint of a function's source: 64-bit FNV-1a as 16 hex digits. It names versions
/// and detects change; it is not a security boundary.
enum ContentHash {
    static func hex<Bytes: Sequence>(of bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
