import Foundation

/// One model's recent arrival times, and the test that tells when its demand stepped to a new
/// level. Decayed averages follow a step only gradually: 45 s after a model went from 0.05 to
/// 0.5 requests/s, a 45 s average still reads 0.3, and the planner adds copies for the new hot
/// model a minute late. Counting arrivals finds the step itself: for each recent moment it
/// compares the rate before with the rate since (a likelihood ratio for two Poisson rates
/// against one), and a step that chance cannot explain shows within 10–20 s for a tenfold rise,
/// with the rate since the step as the new reading.
struct ArrivalHistory: Sendable {
    /// How far back arrivals are kept and compared.
    static let windowSeconds = 360.0
    /// At most this many arrivals are kept (a very hot model's window is shortened instead).
    static let capacity = 4096
    /// Candidate steps: this many seconds before now.
    static let stepAges: [Double] = [10, 15, 20, 30, 45, 60, 90, 120, 180]
    /// Before a candidate step there must be at least this much history (and half the step's age).
    static let minimumBaselineSeconds = 20.0
    /// Log-likelihood ratio, after dividing by the dispersion, above which a step is real. With 5,
    /// a steady stream shows a false step about once in several hours of readings per model.
    static let threshold = 5.0
    /// Variance of request counts over that of a Poisson stream (follow-up turns come in bunches).
    static let dispersion = 2.0
    /// Standard deviations of chance taken off a rise read since a step, for the cautious reading
    /// (one-sided 95 %). A step is found on its first few arrivals, and a burst reads like a new
    /// level: on one trace `qwen2.5:7b` went from 0.48 to a reading of 1.78 requests/s on 17
    /// requests in 10 s, the planner unloaded a copy of the hottest model (2.2/s) for it, and the
    /// model settled at 0.7/s.
    static let cautionDeviations = 1.645
    /// The caution fades over this many seconds after the step: held longer, it read a real shift
    /// to 2.1/s as 1.6/s for minutes (the margin shrinks only with the square root of the count).
    static let cautionSeconds = 30.0

    private var times: [Double] = []
    /// Index of the oldest kept arrival in `times` (older ones are dropped in batches).
    private var head = 0
    /// Every arrival since this moment is in `times`: the start of tracking, the last step found,
    /// or where old arrivals were dropped.
    private(set) var completeSince: Double

    init(since: Double) {
        completeSince = since
    }

    /// A step found at `at`, and the rate since it. The rate counts one arrival more than seen, so
    /// a model that fell quiet 15 s ago reads 1/15 requests/s rather than none: a short silence is
    /// weak evidence, and a model read as never asked for again loses its last copy.
    struct Step: Sendable, Equatable {
        var at: Double
        var rate: Double
        /// The rate before the step.
        var level: Double
        /// `rate` with what chance could explain of a rise taken off (see `cautiousRate`).
        var cautiousRate: Double
    }

    /// `count` arrivals over the `seconds` since a step from `level`: a rise less the margin chance
    /// could explain, never below `level`, the margin fading to nothing `cautionSeconds` after the
    /// step; a fall as counted.
    static func cautiousRate(_ count: Int, over seconds: Double, from level: Double) -> Double {
        let rate = Double(count) / seconds
        let fade = max(0, 1 - seconds / cautionSeconds)
        let margin = fade * cautionDeviations * (dispersion * Double(count)).squareRoot() / seconds
        return rate > level ? max(level, rate - margin) : rate
    }

    mutating func record(_ now: Double) {
        times.append(now)
        let cutoff = now - Self.windowSeconds
        var drop = head
        while drop < times.count && times[drop] < cutoff { drop += 1 }
        if times.count - drop > Self.capacity { drop = times.count - Self.capacity }
        if drop > head {
            completeSince = max(completeSince, drop < times.count ? times[drop] : now)
            head = drop
        }
        if head > 256 && head * 2 > times.count {
            times.removeFirst(head)
            head = 0
        }
    }

    /// When the last step was found to have happened (nil before any).
    private var steppedAt: Double?

    /// The rate before the last step.
    private var levelBeforeStep = 0.0

    /// Forgets what came before a step, so the next one is measured against the new level.
    mutating func restart(after step: Step) {
        completeSince = max(completeSince, step.at)
        steppedAt = step.at
        levelBeforeStep = step.level
    }

    /// The rate since the last step, counted like a step's rate (one arrival more than seen), while
    /// the step is less than `seconds` old; nil otherwise. Every arrival since the step is kept, so
    /// this is the best reading of a level that has held since: unlike an average, it does not
    /// remember how rough the first reading was. With it, the same read with caution (`cautiousRate`).
    func rateSinceStep(now: Double, within seconds: Double) -> (rate: Double, cautious: Double)? {
        guard let steppedAt, now - steppedAt < seconds, now > completeSince else { return nil }
        let count = count(since: completeSince) + 1
        let elapsed = now - completeSince
        return (Double(count) / elapsed, Self.cautiousRate(count, over: elapsed, from: levelBeforeStep))
    }

    /// Arrivals at or after `moment` (up to now).
    func count(since moment: Double) -> Int {
        var low = head
        var high = times.count
        while low < high {
            let middle = (low + high) / 2
            if times[middle] < moment { low = middle + 1 } else { high = middle }
        }
        return times.count - low
    }

    /// The most likely step in the window, if chance cannot explain it. The candidates (`stepAges`)
    /// tell whether there is a step; its moment is then put where the likelihood peaks, to the
    /// second (`placed`): read at the nearest candidate, a shift 5 s old was dated 10 s back, and the
    /// rate since it, counted over 5 s of the old level too, read `codellama:13b` at 1.2 requests/s
    /// where 2 came, and at 1.4-1.7 for the next half minute while its second copy waited.
    func step(now: Double) -> Step? {
        let start = max(completeSince, now - Self.windowSeconds)
        guard let window = window(from: start, now: now) else { return nil }
        let split = { (age: Double) in self.split(at: now - age, in: window, now: now) }
        var found: (index: Int, split: Split)?
        for (index, age) in Self.stepAges.enumerated() {
            guard let candidate = split(age) else { break }
            if candidate.score > Self.threshold && candidate.score > (found?.split.score ?? 0) { found = (index, candidate) }
        }
        guard let found else { return nil }
        return step(placed(found.split, between: found.index, split: split), now: now)
    }

    /// Log-likelihood ratio, after dividing by the dispersion, above which a step at a moment another
    /// model's demand stepped is real (`step(at:now:)`). One moment tested, not a search over the
    /// window's candidates and the seconds between them, so chance has far fewer tries: on the
    /// placement benchmark's shift a model gone from 0.3 to 0.67 requests/s took 100 s to show a
    /// step against `threshold`, and its second copy came in the third minute after the shift.
    static let sharedThreshold = 2.0

    /// A rise at `moment`, when another model's demand stepped then and this one's history since
    /// then shows it too: a popularity shift moves many models at once, and the large moves show
    /// first. Nil when the history restarted after `moment`, when the moment is too young to read
    /// a rate from (`youngestStepAge`) or has too little history before it, or when the split's
    /// score is under `sharedThreshold`.
    ///
    /// Only a rise: the test passes when the arrivals since the moment are far from the level, so the
    /// rate counted since reads further from it than the model's new level. A rise is read with
    /// caution (`cautiousRate`); a fall is read as counted, and on a shift at 53 % load `mistral:7b`,
    /// gone from 0.35 to 0.27 requests/s, read 0.12-0.17/s for a minute and a half and gave its
    /// place in the target to another model while the hot model waited for its third copy.
    func step(at moment: Double, now: Double) -> Step? {
        guard moment > completeSince, now - moment >= Self.youngestStepAge else { return nil }
        let start = max(completeSince, now - Self.windowSeconds)
        guard let window = window(from: start, now: now), let split = split(at: moment, in: window, now: now),
            split.score > Self.sharedThreshold, Double(split.after) / (now - moment) > split.level
        else { return nil }
        return step(split, now: now)
    }

    /// How long after a step its moment may still be moved later (`laterRise`).
    static let redatingSeconds = 60.0

    /// A rise that began after the last step's moment, while that step is young: the moment
    /// another model's demand stepped (`step(at:now:)`) can come well before this model's demand
    /// moved, and the rate counted from it then mixes the old level in. On a Python-written farm's
    /// shift, a burst of `qwen2.5:7b` follow-ups 20 s before the shift was the first step found;
    /// `codellama:13b`, rising from 0.23 to 2.2 requests/s at the shift, cleared the shared bar at
    /// that moment before its own arrivals cleared theirs, read 1.0-1.2/s for 20 s counted from it,
    /// and its own step could not show against the 20 s baseline a search needs. Its third copy came
    /// 75 s after the shift. The cut is where the arrivals since the step make a rise likeliest,
    /// with the shared bar (`sharedThreshold`); the level it rose from stays the one before the step.
    func laterRise(now: Double) -> Step? {
        guard let steppedAt, now - steppedAt < Self.redatingSeconds, let window = window(from: completeSince, now: now) else { return nil }
        var best: Split?
        var age = Self.youngestStepAge
        while now - age >= completeSince + Self.youngestStepAge {
            if let candidate = split(at: now - age, in: window, now: now, minimumBaseline: Self.youngestStepAge),
                candidate.score > max(Self.sharedThreshold, best?.score ?? 0), Double(candidate.after) / age > candidate.level,
                hadNotMoved(by: candidate, age: age)
            {
                best = candidate
            }
            age += 1
        }
        guard var best else { return nil }
        best.level = levelBeforeStep
        return step(best, now: now)
    }

    /// Whether the demand from the last step's moment to the split stayed nearer the level before
    /// the step than the rate since the split (on a log scale): the step's moment came before this
    /// model's demand moved. A burst within a level the model already rose to is not a later rise:
    /// 36 s after `codellama:13b` rose from 0.3 to 2.1 requests/s on the Python farm, 22 of its
    /// requests came within 6 s, and re-dated to them it read 3.9/s; the planner took `gemma2:9b`'s
    /// new second copy for a fourth copy of it, and the second hottest model queued on one copy.
    private func hadNotMoved(by split: Split, age: Double) -> Bool {
        split.level * split.level <= levelBeforeStep * Double(split.after + 1) / age
    }

    /// The arrivals a step is looked for in: from `start` to now, their count and rate.
    private struct Window {
        var start: Double
        var total: Int
        var overall: Double
    }

    /// The window from `start`, nil when it holds no arrival.
    private func window(from start: Double, now: Double) -> Window? {
        let span = now - start
        let total = count(since: start)
        guard span > 0, total > 0 else { return nil }
        return Window(start: start, total: total, overall: Double(total) / span)
    }

    /// The window cut at `at`, if that leaves enough history before the cut (`minimumBaseline`, and
    /// half the cut's age unless told otherwise).
    private func split(at: Double, in window: Window, now: Double, minimumBaseline: Double? = nil) -> Split? {
        let age = now - at
        let baseline = at - window.start
        guard baseline >= (minimumBaseline ?? max(Self.minimumBaselineSeconds, age / 2)) else { return nil }
        let after = count(since: at)
        let before = window.total - after
        var score = 0.0
        if before > 0 { score += Double(before) * log(Double(before) / baseline / window.overall) }
        if after > 0 { score += Double(after) * log(Double(after) / age / window.overall) }
        return Split(score: score / Self.dispersion, at: at, after: after, level: Double(before) / baseline)
    }

    /// The step a split reads: the rate since it counts one arrival more than seen.
    private func step(_ split: Split, now: Double) -> Step {
        let age = now - split.at
        return Step(
            at: split.at, rate: Double(split.after + 1) / age, level: split.level,
            cautiousRate: Self.cautiousRate(split.after + 1, over: age, from: split.level))
    }

    /// The window cut at one moment: how much likelier two rates (before and since) make the arrivals
    /// than one, and what it reads.
    private struct Split {
        var score: Double
        var at: Double
        /// Arrivals since the moment.
        var after: Int
        /// The rate before it.
        var level: Double
    }

    /// The shortest age a step is placed at: on fewer seconds the rate since is too rough to read.
    static let youngestStepAge = 5.0

    /// The split that the likelihood favours most, each second between the candidates either side of
    /// the one that found the step.
    private func placed(_ found: Split, between index: Int, split: (Double) -> Split?) -> Split {
        let ages = Self.stepAges
        let youngest = index > 0 ? ages[index - 1] : Self.youngestStepAge
        let oldest = index + 1 < ages.count ? ages[index + 1] : ages[index]
        var best = found
        var age = youngest
        while age <= oldest {
            if let candidate = split(age), candidate.score > best.score { best = candidate }
            age += 1
        }
        return best
    }
}
