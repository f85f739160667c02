import Foundation

/// The M/M/c queue's waiting facts, which size a model's warm copies to its demand: `servers` is
/// copies × parallel slots, `offered` the model's load in Erlangs (arrival rate × service time).
/// Computed through the Erlang B recursion, which stays stable for large `c`.
public enum ErlangC {
    /// The chance that a request finds every server busy and waits (1 when the queue is unstable).
    public static func probabilityOfWaiting(servers: Int, offered: Double) -> Double {
        guard offered > 0 else { return 0 }
        guard servers > 0, offered < Double(servers) else { return 1 }
        var blocking = 1.0
        for n in 1...servers { blocking = offered * blocking / (Double(n) + offered * blocking) }
        let c = Double(servers)
        return c * blocking / (c - offered * (1 - blocking))
    }

    /// Mean wait in the queue, in units of `service`; infinite when the queue is unstable.
    public static func meanWait(servers: Int, offered: Double, service: Double) -> Double {
        guard offered > 0 else { return 0 }
        guard servers > 0, offered < Double(servers) else { return .infinity }
        return probabilityOfWaiting(servers: servers, offered: offered) * service / (Double(servers) - offered)
    }

    /// The chance of waiting longer than `seconds`: the wait given waiting is exponential with
    /// rate (c − a) / S.
    public static func probabilityOfWaitingLonger(than seconds: Double, servers: Int, offered: Double, service: Double) -> Double {
        guard offered > 0 else { return 0 }
        guard servers > 0, offered < Double(servers), service > 0 else { return 1 }
        let waiting = probabilityOfWaiting(servers: servers, offered: offered)
        return waiting * exp(-(Double(servers) - offered) * seconds / service)
    }

    /// The fewest servers for which waiting longer than `seconds` happens at most `probability` of the time.
    public static func serversNeeded(offered: Double, service: Double, waitAtMost seconds: Double, probability: Double) -> Int {
        guard offered > 0 else { return 0 }
        var servers = max(1, Int(offered.rounded(.down)) + 1)
        while probabilityOfWaitingLonger(than: seconds, servers: servers, offered: offered, service: service) > probability {
            servers += 1
        }
        return servers
    }
}
