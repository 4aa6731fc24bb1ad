package fetcher

import "context"

// Limiter bounds the API calls and downloads in flight across follow-ups:
// a process that runs several follow-ups at once (serve's workers) gives
// them one Limiter, so that its request limit holds whatever the number of
// runs. Each task of a follow-up (one command's logs, one artifact's query
// and download) holds one slot from its start to its end. Implementations
// must be safe for concurrent use.
type Limiter interface {
	// Acquire waits for a slot, or returns ctx's error.
	Acquire(ctx context.Context) error
	// Release gives back a slot taken by Acquire.
	Release()
}

// NewLimiter returns a Limiter of n slots (at least 1).
func NewLimiter(n int) Limiter { return make(chanLimiter, max(n, 1)) }

type chanLimiter chan struct{}

func (l chanLimiter) Acquire(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l chanLimiter) Release() { <-l }

// acquireSlot takes a slot of the shared Limiter, if there is one, for a
// task of cs. A manifest waits until its command's run_results holds a slot:
// a streamed analysis may hold the manifest's download until run_results is
// read, so run_results must never wait for a slot that manifests hold.
// Within one follow-up the order in which tasks are started gives the same
// guarantee (see execute); across follow-ups sharing a Limiter, it does not.
func (r *runner) acquireSlot(ctx context.Context, cs *cmdState, slot int) (release func(), err error) {
	l := r.opts.Limiter
	if l == nil {
		return func() {}, nil
	}
	if cs != nil && slot >= 0 && slot == cs.manifest && cs.resultsGo != nil {
		select {
		case <-cs.resultsGo:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := l.Acquire(ctx); err != nil {
		return nil, err
	}
	return l.Release, nil
}
