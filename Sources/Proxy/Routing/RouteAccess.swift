/// Who may call a route. Declared once per route in `Gateway.routes` and checked by the router
/// before any handler runs, so no handler can forget its check.
enum RouteAccess: Sendable {
    /// Anyone: liveness checks and Ollama's banner.
    case open
    /// A gateway key from `apiKeys` (anyone when the list is empty).
    case gatewayKey
    /// The operator views (`/status`, `/dashboard`, `/metrics`): an admin key when `adminKeys` is
    /// set, anyone otherwise; a browser is asked for the key with Basic authentication.
    case operatorView
    /// Routes that change what the farm holds (`/api/pull`, and the push, create, copy and delete
    /// TensorWall declines): an admin key when `adminKeys` is set, else a gateway key. A gateway
    /// key alone must not make every node download whatever it names.
    case farmChange
}
