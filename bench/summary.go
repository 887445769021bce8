package bench

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inference-relay/relay/bench/loadgen"
)

// Summary is a run's results, shaped for JSON. Times are milliseconds.
type Summary struct {
	Machine  Machine `json:"machine"`
	Upstream struct {
		LatencyMS    float64 `json:"latency_ms"`
		TokenDelayMS float64 `json:"token_delay_ms"`
	} `json:"upstream"`
	Latency struct {
		RateRPS        float64             `json:"rate_rps"`
		DurationS      float64             `json:"duration_s_per_round"`
		Rounds         int                 `json:"rounds"`
		NonStreaming   map[string]StatsMS  `json:"non_streaming"`
		StreamingTTFT  map[string]StatsMS  `json:"streaming_ttft"`
		StreamingFull  map[string]StatsMS  `json:"streaming_full"`
		Added          map[string]AddedMS  `json:"added_ms"` // "<mode>/<target>"
		RelayOverProxy map[string]*float64 `json:"relay_p50_over_proxy"`
		SendLagP99MS   map[string]float64  `json:"generator_send_lag_p99_ms"`
		// DiscardedRounds counts, per mode, rounds thrown away because the
		// machine stalled (see LatencyConfig.MaxSendLag).
		DiscardedRounds map[string]int `json:"discarded_stalled_rounds"`
	} `json:"latency"`
	Cost    *CostJSON `json:"cpu_per_request,omitempty"`
	MaxRate struct {
		Criteria struct {
			MinAchievedRatio float64 `json:"min_achieved_over_offered"`
			MaxErrorRate     float64 `json:"max_error_rate"`
			MaxP99MS         float64 `json:"max_p99_ms"`
		} `json:"criteria"`
		StepS          float64                `json:"step_s"`
		WarmupS        float64                `json:"step_warmup_s"`
		Targets        map[string]MaxRateJSON `json:"targets"`
		RelayOverProxy *float64               `json:"relay_max_over_proxy"`
	} `json:"max_rate"`
	Verdict Verdict `json:"verdict"`
	// Warnings say why some numbers may not be trusted (a stalled
	// machine, a ratio that could not be computed).
	Warnings []string `json:"warnings,omitempty"`
	Duration float64  `json:"run_s"`

	maxSendLag time.Duration
}

// Machine describes where the run happened.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Go         string `json:"go"`
	OSArch     string `json:"os_arch"`
	LoadStart  string `json:"loadavg_start,omitempty"`
	LoadEnd    string `json:"loadavg_end,omitempty"`
}

// StatsMS is a latency distribution in milliseconds.
type StatsMS struct {
	N      int     `json:"n"`
	Errors int     `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Mean   float64 `json:"mean_ms"`
	Max    float64 `json:"max_ms"`
}

// AddedMS is what a target adds over the direct baseline.
type AddedMS struct {
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
}

// CostJSON is the CPU-per-request phase: microseconds of this process's
// CPU time per request, each target measured alone.
type CostJSON struct {
	RateRPS        float64            `json:"rate_rps"`
	DurationS      float64            `json:"duration_s"`
	Rounds         int                `json:"rounds"`
	PerRequestUS   map[string]float64 `json:"per_request_us"`
	AddedUS        map[string]float64 `json:"added_us"` // over direct
	RelayOverProxy *float64           `json:"relay_added_over_proxy_added"`
	// AllocBytes is heap bytes allocated per request (whole process).
	AllocBytes map[string]uint64 `json:"alloc_bytes_per_request"`
}

// MaxRateJSON is one target's search.
type MaxRateJSON struct {
	MaxRPS float64    `json:"max_rps"`
	AtCap  bool       `json:"at_cap"`
	Steps  []StepJSON `json:"steps"`
}

// StepJSON is one step of a search.
type StepJSON struct {
	RateRPS     float64 `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	ErrorRate   float64 `json:"error_rate"`
	P50MS       float64 `json:"p50_ms"`
	P99MS       float64 `json:"p99_ms"`
	Sustained   bool    `json:"sustained"`
	SendLagP99  float64 `json:"generator_send_lag_p99_ms"`
	// ErrorKinds counts failed requests by kind ("timeout", "status 502", ...).
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
}

// Verdict says whether each target is met. A nil value means it could not
// be judged (a ratio with no denominator, or a phase skipped).
type Verdict struct {
	P50RatioTarget       float64 `json:"p50_ratio_target_max"`
	P50MetNonStreaming   *bool   `json:"p50_ratio_met_non_streaming"`
	P50MetStreamingTTFT  *bool   `json:"p50_ratio_met_streaming_ttft"`
	MaxRatioTarget       float64 `json:"max_ratio_target_min"`
	MaxRatioMet          *bool   `json:"max_ratio_met"`
	MeasuredOnSharedCPUs bool    `json:"measured_on_shared_cpus"`
}

// Modes as the summary names them.
const (
	ModeNonStreaming  = "non_streaming"
	ModeStreamingTTFT = "streaming_ttft"
)

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func statsMS(s loadgen.Stats, errors int) StatsMS {
	return StatsMS{N: s.N, Errors: errors, P50: ms(s.P50), P90: ms(s.P90), P99: ms(s.P99), Mean: ms(s.Mean), Max: ms(s.Max)}
}

func newSummary(env *Env, cfg Config) *Summary {
	s := &Summary{Machine: machine()}
	s.Upstream.LatencyMS = ms(env.Upstream)
	s.Latency.RateRPS = cfg.Latency.Rate
	s.Latency.DurationS = cfg.Latency.Duration.Seconds()
	s.Latency.Rounds = max(cfg.Latency.Rounds, 1)
	s.Latency.NonStreaming = map[string]StatsMS{}
	s.Latency.StreamingTTFT = map[string]StatsMS{}
	s.Latency.StreamingFull = map[string]StatsMS{}
	s.Latency.Added = map[string]AddedMS{}
	s.Latency.RelayOverProxy = map[string]*float64{}
	s.Latency.SendLagP99MS = map[string]float64{}
	s.Latency.DiscardedRounds = map[string]int{}
	s.maxSendLag = cfg.Latency.MaxSendLag
	if s.maxSendLag <= 0 {
		s.maxSendLag = 10 * time.Millisecond
	}
	search := cfg.Search
	search.defaults(env.Upstream)
	s.MaxRate.Criteria.MinAchievedRatio = search.MinAchieved
	s.MaxRate.Criteria.MaxErrorRate = search.MaxErrorRate
	s.MaxRate.Criteria.MaxP99MS = ms(search.MaxP99)
	s.MaxRate.StepS = search.Step.Seconds()
	s.MaxRate.WarmupS = search.Warmup.Seconds()
	s.MaxRate.Targets = map[string]MaxRateJSON{}
	s.Verdict.P50RatioTarget = TargetP50Ratio
	s.Verdict.MaxRatioTarget = TargetMaxRatio
	s.Verdict.MeasuredOnSharedCPUs = true
	return s
}

// addLatency records one mode's measurements and the added latency and
// ratio derived from them.
func (s *Summary) addLatency(stream bool, lat map[string]*Latency) {
	mode := ModeNonStreaming
	if stream {
		mode = ModeStreamingTTFT
	}
	pick := func(l *Latency) loadgen.Stats {
		if stream {
			return l.TTFT
		}
		return l.Full
	}
	for _, name := range []string{Direct, Proxy, Relay} {
		l, ok := lat[name]
		if !ok {
			continue
		}
		s.Latency.SendLagP99MS[mode+"/"+name] = ms(l.SendLagP99)
		s.Latency.DiscardedRounds[mode] = l.Discarded
		if l.SendLagP99 > s.maxSendLag {
			s.warn(fmt.Sprintf("latency, %s, %s: the load generator fell %.1f ms behind its schedule (p99): the machine stalled; re-run when it is quiet", mode, name, ms(l.SendLagP99)))
		}
		if stream {
			s.Latency.StreamingTTFT[name] = statsMS(l.TTFT, l.Errors)
			s.Latency.StreamingFull[name] = statsMS(l.Full, l.Errors)
		} else {
			s.Latency.NonStreaming[name] = statsMS(l.Full, l.Errors)
		}
	}
	base, ok := lat[Direct]
	if !ok {
		return
	}
	added := map[string]AddedMS{}
	for _, name := range []string{Proxy, Relay} {
		if l, ok := lat[name]; ok {
			a := AddedMS{P50: ms(pick(l).P50 - pick(base).P50), P99: ms(pick(l).P99 - pick(base).P99)}
			added[name] = a
			s.Latency.Added[mode+"/"+name] = a
		}
	}
	ratio := Ratio(added[Relay].P50, added[Proxy].P50)
	s.Latency.RelayOverProxy[mode] = ratio
	if ratio == nil {
		s.warn(fmt.Sprintf("latency, %s: the proxy added nothing measurable at p50, so the ratio is not judged", mode))
	}
	var met *bool
	if ratio != nil {
		met = ptr(*ratio <= TargetP50Ratio)
	}
	if stream {
		s.Verdict.P50MetStreamingTTFT = met
	} else {
		s.Verdict.P50MetNonStreaming = met
	}
}

func (s *Summary) addCost(cfg CostConfig, cost map[string]*Cost) {
	c := &CostJSON{RateRPS: cfg.Rate, DurationS: cfg.Duration.Seconds(), Rounds: max(cfg.Rounds, 1),
		PerRequestUS: map[string]float64{}, AddedUS: map[string]float64{}, AllocBytes: map[string]uint64{}}
	us := func(d time.Duration) float64 { return round1(float64(d.Nanoseconds()) / 1000) }
	for name, v := range cost {
		c.PerRequestUS[name] = us(v.CPUPerRequest)
		c.AllocBytes[name] = v.AllocPerRequest
	}
	if base, ok := cost[Direct]; ok {
		for _, name := range []string{Proxy, Relay} {
			if v, ok := cost[name]; ok {
				c.AddedUS[name] = us(v.CPUPerRequest - base.CPUPerRequest)
			}
		}
		c.RelayOverProxy = Ratio(c.AddedUS[Relay], c.AddedUS[Proxy])
	}
	s.Cost = c
}

func (s *Summary) addMax(m *MaxRate) {
	j := MaxRateJSON{MaxRPS: m.Max, AtCap: m.AtCap}
	for _, st := range m.Steps {
		j.Steps = append(j.Steps, StepJSON{RateRPS: st.Rate, AchievedRPS: round1(st.Achieved), ErrorRate: st.ErrorRate,
			P50MS: ms(st.P50), P99MS: ms(st.P99), Sustained: st.Sustained, SendLagP99: ms(st.SendLagP99), ErrorKinds: nonEmpty(st.ErrorKinds)})
	}
	s.MaxRate.Targets[m.Target] = j
	p, okP := s.MaxRate.Targets[Proxy]
	r, okR := s.MaxRate.Targets[Relay]
	if okP && okR {
		s.MaxRate.RelayOverProxy = Ratio(r.MaxRPS, p.MaxRPS)
		if s.MaxRate.RelayOverProxy != nil {
			s.Verdict.MaxRatioMet = ptr(*s.MaxRate.RelayOverProxy >= TargetMaxRatio)
		}
	}
}

func (s *Summary) warn(w string) {
	if !slices.Contains(s.Warnings, w) {
		s.Warnings = append(s.Warnings, w)
	}
}

func (s *Summary) finish(d time.Duration) {
	s.Machine.LoadEnd = loadavg()
	s.Duration = round1(d.Seconds())
	// The run itself keeps about two threads busy; a 1-minute load well
	// above that plus the CPU count means other work was competing, which
	// the max-rate search (one target at a time) cannot cancel out.
	busy := float64(s.Machine.CPUs) + 1.5
	for _, l := range []string{s.Machine.LoadStart, s.Machine.LoadEnd} {
		if v, ok := load1(l); ok && v > busy {
			s.warn(fmt.Sprintf("the machine was busy (1-minute load average %.2f on %d CPUs): other work competed with the run, the maximum rates above all; re-run when it is quiet", v, s.Machine.CPUs))
			break
		}
	}
}

// load1 is the first (1-minute) figure of a loadavg string.
func load1(l string) (float64, bool) {
	f := strings.Fields(l)
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// Ratio is a/b rounded to 3 decimals, or nil when b is not positive (a
// baseline that added nothing measurable cannot be divided by).
func Ratio(a, b float64) *float64 {
	if b <= 0 {
		return nil
	}
	return ptr(float64(int(a/b*1000+0.5)) / 1000)
}

func nonEmpty(m map[string]int) map[string]int {
	if len(m) == 0 {
		return nil
	}
	return m
}

func round1(v float64) float64 { return float64(int(v*10+0.5)) / 10 }

func ptr[T any](v T) *T { return &v }

func machine() Machine {
	return Machine{
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUModel: cpuModel(), Go: runtime.Version(), OSArch: runtime.GOOS + "/" + runtime.GOARCH,
		LoadStart: loadavg(),
	}
}

// cpuModel is the "model name" line of /proc/cpuinfo, where there is one.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadavg is the 1, 5 and 15 minute load averages, where the system
// reports them: a busy machine makes a run's numbers suspect.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
