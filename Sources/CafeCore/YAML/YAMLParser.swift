import CLibYAML

/// A hardened YAML reader on libyaml's event API (the system libyaml, module `CLibYAML`).
///
/// It builds a ``YAMLNode`` tree while it reads events, and refuses, before any tree grows large:
/// texts over ``YAMLLimits/maxBytes``, anchors, aliases, explicit tags, more than one document,
/// non-scalar or duplicate mapping keys, nesting deeper than ``YAMLLimits/maxDepth``, scalars over
/// ``YAMLLimits/maxScalarBytes``, collections over ``YAMLLimits/maxCollectionCount`` and documents
/// over ``YAMLLimits/maxNodes``. Input must be UTF-8.
public enum YAMLParser {
    /// Parses `bytes` into a tree; `nil` for an empty document.
    /// - Parameter source: names the text in error messages (a path, `envelope from monk1`).
    public static func parse(_ bytes: some Collection<UInt8>, limits: YAMLLimits, source: String) throws -> YAMLNode? {
        guard bytes.count <= limits.maxBytes else {
            throw InputError(
                source: source,
                message: "is \(bytes.count) bytes, over the limit of \(limits.maxBytes) bytes",
                hint: "nothing was read from it")
        }
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { try parse(buffer: UnsafeRawBufferPointer(buffer), limits: limits, source: source) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBytes { try parse(buffer: $0, limits: limits, source: source) }
    }

    /// Parses a string (its UTF-8 bytes).
    public static func parse(_ text: String, limits: YAMLLimits, source: String) throws -> YAMLNode? {
        try parse(Array(text.utf8), limits: limits, source: source)
    }

    /// An open collection. Its arrays are mutated in place on the stack (never copied out
    /// and back), so that adding an item costs O(1) and a whole parse is linear in its input.
    private struct Frame {
        var isSequence: Bool
        var mark: YAMLMark
        var items: [YAMLNode] = []
        var entries: [YAMLEntry] = []
        var pendingKey: YAMLScalar?
        var keys: Set<String> = []
    }

    private static func parse(buffer: UnsafeRawBufferPointer, limits: YAMLLimits, source: String) throws -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw EnvironmentError("could not initialise the YAML parser (out of memory?)")
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(
            &parser, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyInput, buffer.count)

        var stack: [Frame] = []
        var root: YAMLNode?
        var documents = 0
        var nodes = 0

        func fail(_ message: String, _ mark: YAMLMark?, hint: String? = nil) -> InputError {
            InputError(source: source, line: mark?.line, column: mark?.column, message: message, hint: hint)
        }

        func add(_ node: YAMLNode) throws {
            nodes += 1
            if nodes > limits.maxNodes {
                throw fail("has more than \(limits.maxNodes) nodes", node.mark)
            }
            guard let top = stack.indices.last else {
                root = node
                return
            }
            if stack[top].isSequence {
                guard stack[top].items.count < limits.maxCollectionCount else {
                    throw fail("a list has more than \(limits.maxCollectionCount) items", stack[top].mark)
                }
                stack[top].items.append(node)
            } else if let key = stack[top].pendingKey {
                stack[top].entries.append(YAMLEntry(key: key, value: node))
                stack[top].pendingKey = nil
            } else {
                guard case .scalar(let key) = node else {
                    throw fail("mapping keys must be plain words, not \(node.kindName)", node.mark)
                }
                guard stack[top].entries.count < limits.maxCollectionCount else {
                    throw fail("a mapping has more than \(limits.maxCollectionCount) keys", stack[top].mark)
                }
                guard stack[top].keys.insert(key.text).inserted else {
                    throw fail("duplicate key '\(key.text)'", key.mark, hint: "each key may appear once")
                }
                stack[top].pendingKey = key
            }
        }

        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw libyamlError(parser, source: source)
            }
            defer { yaml_event_delete(&event) }
            let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw fail("holds more than one YAML document", mark, hint: "remove the extra '---'")
                }
            case YAML_ALIAS_EVENT:
                throw fail("YAML aliases (*name) are not allowed", mark, hint: "write the value out in full")
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                if scalar.anchor != nil {
                    throw fail("YAML anchors (&name) are not allowed", mark)
                }
                if scalar.tag != nil {
                    throw fail("YAML tags (!tag) are not allowed", mark)
                }
                guard scalar.length <= limits.maxScalarBytes else {
                    throw fail("a value of \(scalar.length) bytes is over the limit of \(limits.maxScalarBytes)", mark)
                }
                let text = String(
                    decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                try add(.scalar(YAMLScalar(text: text, isPlain: scalar.style == YAML_PLAIN_SCALAR_STYLE, mark: mark)))
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let isSequence = event.type == YAML_SEQUENCE_START_EVENT
                let anchor = isSequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                let tag = isSequence ? event.data.sequence_start.tag : event.data.mapping_start.tag
                if anchor != nil { throw fail("YAML anchors (&name) are not allowed", mark) }
                if tag != nil { throw fail("YAML tags (!tag) are not allowed", mark) }
                if let top = stack.last, !top.isSequence, top.pendingKey == nil {
                    throw fail("mapping keys must be plain words, not \(isSequence ? "a list" : "a mapping")", mark)
                }
                guard stack.count < limits.maxDepth else {
                    throw fail("nesting is deeper than \(limits.maxDepth) levels", mark)
                }
                stack.append(Frame(isSequence: isSequence, mark: mark))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { throw fail("unbalanced collection end", mark) }
                try add(frame.isSequence ? .sequence(frame.items, frame.mark) : .mapping(frame.entries, frame.mark))
            default:
                break
            }
        }
    }

    nonisolated(unsafe) private static let emptyInput: UnsafePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()

    private static func libyamlError(_ parser: yaml_parser_t, source: String) -> InputError {
        let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
        let context = parser.context.map { String(cString: $0) }
        let mark = parser.problem_mark
        let message = context.map { "\(problem) \($0)" } ?? problem
        return InputError(
            source: source, line: Int(mark.line) + 1, column: Int(mark.column) + 1,
            message: "malformed YAML: \(message)")
    }
}
