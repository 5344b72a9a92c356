import Foundation

extension DecodingError {
    /// "runtime.environment.PORT: Expected to decode String but found number instead."
    package var readableDescription: String {
        let (path, reason): ([any CodingKey], String) = switch self {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            (context.codingPath, context.debugDescription + ((context.underlyingError).map { " \($0.localizedDescription)" } ?? ""))
        case .keyNotFound(let key, let context):
            (context.codingPath + [key], "required")
        @unknown default:
            ([], "\(self)")
        }
        let location = path.map(\.stringValue).joined(separator: ".")
        return location.isEmpty ? reason : "\(location): \(reason)"
    }
}
