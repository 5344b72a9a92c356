import ArgumentParser

/// `chatfn control`: the control plane (placeholder while it is being wired).
struct Control: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the control plane: the API over the registry.")
    func run() async throws {}
}
