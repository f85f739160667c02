import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Reaches OpenAI-compatible cloud endpoints over HTTPS with URLSession (TLS is the reason it is
/// not our own client). Bodies stream through the delegate piece by piece; the per-host
/// connection cap is raised from URLSession's default of 6 so streams do not queue behind each other.
// @unchecked Sendable: the only mutable state, `exchanges`, is behind a Mutex; `session` is set once in init.
final class CloudClient: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let exchanges = Mutex<[Int: CloudExchange]>([:])
    private var session: URLSession!

    init(idleTimeout: TimeInterval, maxConnectionsPerHost: Int = 256) {
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = maxConnectionsPerHost
        configuration.timeoutIntervalForRequest = idleTimeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
    }

    func shutdown() {
        session.invalidateAndCancel()
    }

    /// Sends the request; returns once the response head arrived. The body is read from the response.
    func send(_ request: URLRequest) async throws -> CloudResponse {
        let task = session.dataTask(with: request)
        let exchange = CloudExchange(task: task)
        exchanges.withLock { $0[task.taskIdentifier] = exchange }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                exchange.setHeadContinuation(continuation)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    // MARK: URLSessionDataDelegate

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let exchange = exchanges.withLock { $0[dataTask.taskIdentifier] }
        let http = response as? HTTPURLResponse
        exchange?.receivedHead(status: http?.statusCode ?? 502, contentType: http?.value(forHTTPHeaderField: "Content-Type"))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        exchanges.withLock { $0[dataTask.taskIdentifier] }?.received(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let exchange = exchanges.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        exchange?.finished(error)
    }
}

/// An answer from a cloud endpoint: status and content type now, body pieces as they arrive.
struct CloudResponse: Sendable {
    let status: Int
    let contentType: String?
    let body: AsyncThrowingStream<Data, any Error>
    let cancel: @Sendable () -> Void
}

/// One request's state between URLSession's delegate callbacks and the task awaiting them.
// @unchecked Sendable: `head` and `stream` are read and written only under `lock`; `task` never changes.
final class CloudExchange: @unchecked Sendable {
    private let lock = Mutex(())
    private var head: CheckedContinuation<CloudResponse, any Error>?
    private var stream: AsyncThrowingStream<Data, any Error>.Continuation?
    let task: URLSessionDataTask

    init(task: URLSessionDataTask) {
        self.task = task
    }

    func setHeadContinuation(_ continuation: CheckedContinuation<CloudResponse, any Error>) {
        lock.withLock { _ in head = continuation }
    }

    func receivedHead(status: Int, contentType: String?) {
        let (body, continuation) = AsyncThrowingStream<Data, any Error>.makeStream(bufferingPolicy: .unbounded)
        let task = self.task
        continuation.onTermination = { termination in
            if case .cancelled = termination { task.cancel() }
        }
        let waiting = lock.withLock { _ -> CheckedContinuation<CloudResponse, any Error>? in
            stream = continuation
            defer { head = nil }
            return head
        }
        waiting?.resume(returning: CloudResponse(status: status, contentType: contentType, body: body, cancel: { task.cancel() }))
    }

    func received(_ data: Data) {
        _ = lock.withLock { _ in stream }?.yield(data)
    }

    func finished(_ error: (any Error)?) {
        let (waiting, continuation) = lock.withLock { _ in
            defer {
                head = nil
                stream = nil
            }
            return (head, stream)
        }
        if let waiting {
            waiting.resume(throwing: error ?? URLError(.badServerResponse))
        }
        if let error { continuation?.finish(throwing: error) } else { continuation?.finish() }
    }
}
