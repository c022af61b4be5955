import CafeCore
import Logging

/// What a reload did.
public enum ReloadOutcome: Sendable, Equatable {
    /// Every file was valid: `generation` is in force. `notes` name changes that wait for the
    /// next start (`listen`, `settings`).
    case applied(generation: Int, notes: [String])
    /// Something was wrong: the running configuration (`generation`) stays, and `problems`
    /// lists every error, each with its file and line.
    case refused(generation: Int, problems: [String])
}

extension Node {
    /// Re-reads and checks every config file (SIGHUP, `cafe reload`). If all are valid they
    /// apply at once and together, to everything that starts from now on (delivery, commands,
    /// trust, peers and their keys, fleets, revocation lists); otherwise nothing changes and
    /// every error is logged.
    public func reload() async -> ReloadOutcome {
        let old = identity
        var settingsChanged = false
        let loaded = NodeConfiguration.check(home: old.home).flatMap { configuration -> Result<NodeIdentity, ConfigurationProblems> in
            guard configuration.node.name == old.name else {
                return .failure(ConfigurationProblems(errors: [InputError(
                    source: old.home.nodeConfig, field: "name",
                    message: "the name changed from '\(old.name)' to '\(configuration.node.name)'",
                    hint: "a node's name belongs to its key; put the name back, or create a new node with cafe init")]))
            }
            // Settings (and listen) are read once at start: they stay as they are until then.
            var configuration = configuration
            settingsChanged = configuration.node.settings != old.configuration.node.settings
            configuration.node.settings = old.configuration.node.settings
            do {
                return .success(try NodeIdentity(home: old.home, configuration: configuration, key: old.key))
            } catch {
                return .failure(ConfigurationProblems(errors: [error]))
            }
        }
        switch loaded {
        case .failure(let problems):
            let generation = current.generation
            let lines = problems.errors.map { "\($0)" }
            logger.error("reload refused: \(lines.count) problem(s); still running on config generation \(generation)")
            for line in lines { logger.error("reload: \(line)") }
            return .refused(generation: generation, problems: lines)
        case .success(let identity):
            var notes: [String] = []
            if identity.configuration.node.listen != old.configuration.node.listen {
                notes.append("node.yaml listen changed: it takes effect at the next start")
            }
            if identity.configuration.node.metrics != old.configuration.node.metrics {
                notes.append("node.yaml metrics changed: it takes effect at the next start")
            }
            if settingsChanged {
                notes.append("node.yaml settings changed: they take effect at the next start")
            }
            let oldPeers = old.configuration.node.peers, newPeers = identity.configuration.node.peers
            // Links of changed peers, and of peers whose certificate no longer holds (a new
            // revocation list), are closed: they must prove themselves again.
            let now = clock.now()
            let uncertified = identity.certificates.values.filter {
                identity.keys[$0.name] == nil && $0.problem(at: now, revocations: identity.keys.revocations) != nil
            }
            for certificate in uncertified {
                logger.notice("closing the link of \(certificate.name): \(certificate.problem(at: now, revocations: identity.keys.revocations) ?? "")")
            }
            let changed = Set(oldPeers.keys.filter { newPeers[$0] != oldPeers[$0] }).union(uncertified.map(\.name))
            let generation = current.replace(with: identity)
            // Links made with an old key or route are closed; what only a removed peer could take
            // goes to quarantine, as at start.
            if !changed.isEmpty { transport.peersChanged(changed) }
            // The core takes the new identity before anything else (what only a removed peer
            // could take goes to quarantine then).
            await process(.tick)
            logger.notice("config generation \(generation) applied (delivery, commands, trust, peers)")
            for note in notes { logger.notice("reload: \(note)") }
            return .applied(generation: generation, notes: notes)
        }
    }
}
