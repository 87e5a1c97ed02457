/// A node attribute value, as ONNX defines them.
public enum Attribute: Sendable {
    case int(Int)
    case float(Float)
    case string(String)
    case ints([Int])
    case floats([Float])
    case strings([String])
    case tensor(Tensor)
    /// A kind unirt cannot use (graphs, sparse tensors); kept so that validation can name it.
    case unsupported(String)
}

extension Node {
    /// Integer attribute `name`, or `default` when absent.
    public func int(_ name: String, default d: Int) throws -> Int {
        try int(name) ?? d
    }

    /// Integer attribute `name`, or nil when absent; an error when it has another type.
    public func int(_ name: String) throws -> Int? {
        switch attributes[name] {
        case nil: return nil
        case .int(let v): return v
        default: throw error(.invalidModel, "attribute '\(name)' must be an int")
        }
    }

    public func float(_ name: String, default d: Float) throws -> Float {
        switch attributes[name] {
        case nil: return d
        case .float(let v): return v
        case .int(let v): return Float(v)
        default: throw error(.invalidModel, "attribute '\(name)' must be a float")
        }
    }

    public func string(_ name: String, default d: String) throws -> String {
        switch attributes[name] {
        case nil: return d
        case .string(let v): return v
        default: throw error(.invalidModel, "attribute '\(name)' must be a string")
        }
    }

    public func ints(_ name: String) throws -> [Int]? {
        switch attributes[name] {
        case nil: return nil
        case .ints(let v): return v
        case .int(let v): return [v]
        default: throw error(.invalidModel, "attribute '\(name)' must be a list of ints")
        }
    }

    public func floats(_ name: String) throws -> [Float]? {
        switch attributes[name] {
        case nil: return nil
        case .floats(let v): return v
        case .float(let v): return [v]
        default: throw error(.invalidModel, "attribute '\(name)' must be a list of floats")
        }
    }

    public func tensor(_ name: String) throws -> Tensor? {
        switch attributes[name] {
        case nil: return nil
        case .tensor(let t): return t
        default: throw error(.invalidModel, "attribute '\(name)' must be a tensor")
        }
    }

    /// Fails when a string attribute has a value outside `allowed`.
    public func requireOneOf(_ name: String, _ allowed: [String], default d: String) throws -> String {
        let v = try string(name, default: d)
        guard allowed.contains(v) else {
            throw error(.unsupported, "attribute \(name)='\(v)' is not supported (supported: \(allowed.joined(separator: ", ")))")
        }
        return v
    }
}
