package lineage

import (
	"context"
	"fmt"
	"strings"
)

// Sink receives the events of runs, one block per run.
type Sink interface {
	// Open starts the block of one run's events.
	Open(ctx context.Context) (Block, error)
}

// Block is one run's events on their way to a sink.
type Block interface {
	// Add takes one event, encoded as one line of JSON without its newline.
	// The line is not kept past the call. An error means the block cannot
	// go on (a full disk); events the sink merely failed to deliver are
	// reported by Close.
	Add(ctx context.Context, ref EventRef, line []byte) error
	// Close delivers what is left and reports, as a *DeliveryError, the
	// events that were not delivered.
	Close(ctx context.Context) error
	// Abort discards the block: nothing more is delivered.
	Abort()
}

// EventRef names an event in errors.
type EventRef struct {
	RunID string
	Job   string
	Type  string
}

func (r EventRef) String() string { return r.Type + " " + r.Job + " (run " + r.RunID + ")" }

// maxLostNamed bounds the events a DeliveryError names; the rest are
// counted.
const maxLostNamed = 1000

// DeliveryError reports events that a sink did not deliver.
type DeliveryError struct {
	// Sink names the destination (a file path, or an URL without its query).
	Sink string
	// Lost names the events not delivered, up to 1000; Count counts them
	// all, of Total handed to the block.
	Lost         []EventRef
	Count, Total int
	// Err is the first cause.
	Err error
	// Retryable is true when trying again later may deliver them (the
	// endpoint was down or refused with 429/5xx).
	Retryable bool
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lineage: %d of %d event(s) not delivered to %s: %v", e.Count, e.Total, e.Sink, e.Err)
	if len(e.Lost) > 0 {
		b.WriteString("; not delivered: ")
		for i, r := range e.Lost {
			if i == 5 {
				fmt.Fprintf(&b, ", and %d more", e.Count-5)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.String())
		}
	}
	return b.String()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// lost records undelivered events for a DeliveryError.
type lost struct {
	refs  []EventRef
	count int
	first error
	retry bool
}

func (l *lost) add(err error, retryable bool, refs ...EventRef) {
	if l.first == nil {
		l.first, l.retry = err, retryable
	}
	l.count += len(refs)
	for _, r := range refs {
		if len(l.refs) < maxLostNamed {
			l.refs = append(l.refs, r)
		}
	}
}

func (l *lost) err(sink string, total int) error {
	if l.count == 0 {
		return nil
	}
	return &DeliveryError{Sink: sink, Lost: l.refs, Count: l.count, Total: total, Err: l.first, Retryable: l.retry}
}
