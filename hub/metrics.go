package hub

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/potluck-hub/potluck"
)

// metrics are the hub's Prometheus series, in a registry of its own so two
// hubs in one process (tests) never collide.
type metrics struct {
	reg         *prometheus.Registry
	rpcSeconds  *prometheus.HistogramVec
	rpcErrors   *prometheus.CounterVec
	uploads     *prometheus.CounterVec
	uploadBytes prometheus.Counter
	merges      *prometheus.CounterVec
	mergeSecs   prometheus.Histogram
	// verdictsUnlogged counts refusals beyond Limits.VerdictsPerOrgHour.
	verdictsUnlogged *prometheus.CounterVec

	mu      sync.Mutex
	sizedAt time.Time
	size    map[potluck.Kind][2]float64 // releases, bytes
}

func newMetrics(h *Hub) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.rpcSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "potluck_rpc_duration_seconds",
		Help: "gRPC calls by method and status code.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"method", "code"})
	m.rpcErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "potluck_rpc_errors_total",
		Help: "gRPC calls that failed, by method and status code."}, []string{"method", "code"})
	m.uploads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "potluck_uploads_total",
		Help: "Uploads by kind and verdict (accepted, rejected)."}, []string{"kind", "verdict"})
	m.uploadBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "potluck_upload_bytes_total",
		Help: "Bytes received in uploads, accepted or not."})
	m.merges = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "potluck_merges_total",
		Help: "Merges by result (ok, error, cancelled)."}, []string{"result"})
	m.mergeSecs = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "potluck_merge_duration_seconds",
		Help: "Time to run a merge.", Buckets: prometheus.ExponentialBuckets(0.1, 3, 10)})
	m.verdictsUnlogged = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "potluck_verdicts_unlogged_total",
		Help: "Refused uploads whose verdict was not logged: beyond the org's hourly limit (Limits.VerdictsPerOrgHour)."}, []string{"org"})
	releases := prometheus.NewDesc("potluck_releases", "Releases held, by kind.", []string{"kind"}, nil)
	bytes := prometheus.NewDesc("potluck_store_bytes", "Bytes of the releases held, by kind (files shared between releases count once per release).", []string{"kind"}, nil)
	jobs := prometheus.NewDesc("potluck_merge_jobs", "Merge jobs the hub knows, by state.", []string{"state"}, nil)
	m.reg.MustRegister(m.rpcSeconds, m.rpcErrors, m.uploads, m.uploadBytes, m.merges, m.mergeSecs, m.verdictsUnlogged,
		collectorFunc{descs: []*prometheus.Desc{jobs}, collect: func(ch chan<- prometheus.Metric) {
			for state, n := range h.jobCounts() {
				ch <- prometheus.MustNewConstMetric(jobs, prometheus.GaugeValue, float64(n), string(state))
			}
		}},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectorFunc{descs: []*prometheus.Desc{releases, bytes}, collect: func(ch chan<- prometheus.Metric) {
			for kind, v := range m.storeSize(h) {
				ch <- prometheus.MustNewConstMetric(releases, prometheus.GaugeValue, v[0], string(kind))
				ch <- prometheus.MustNewConstMetric(bytes, prometheus.GaugeValue, v[1], string(kind))
			}
		}})
	return m
}

func (m *metrics) rpc(method, code string, d time.Duration) {
	m.rpcSeconds.WithLabelValues(method, code).Observe(d.Seconds())
	if code != "OK" {
		m.rpcErrors.WithLabelValues(method, code).Inc()
	}
}

// storeSize sums the release index, at most every 30 s: scrapes stay
// cheap however many releases the hub holds.
func (m *metrics) storeSize(h *Hub) map[potluck.Kind][2]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.size != nil && time.Since(m.sizedAt) < 30*time.Second {
		return m.size
	}
	rs, err := h.releases.list("", "")
	if err != nil {
		return m.size
	}
	size := map[potluck.Kind][2]float64{potluck.KindBase: {}, potluck.KindDelta: {}, potluck.KindMerge: {}}
	for _, r := range rs {
		v := size[r.Kind]
		v[0]++
		for _, f := range r.Files {
			v[1] += float64(f.Size)
		}
		size[r.Kind] = v
	}
	m.size, m.sizedAt = size, time.Now()
	return size
}

// MetricsHandler serves the hub's metrics in the Prometheus format.
func (h *Hub) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(h.metrics.reg, promhttp.HandlerOpts{})
}

// collectorFunc is a collector computed at scrape time.
type collectorFunc struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
