package pull

import (
	"context"
	"errors"

	"github.com/boltfetch/boltfetch/inbox"
)

// InboxQueue is the inbox as Reconcile's Queue: the same Enqueue, unique by
// run id, as a webhook delivery, so a run that arrives both ways is followed
// up once.
func InboxQueue(ib *inbox.Inbox) Queue { return inboxQueue{ib} }

type inboxQueue struct{ ib *inbox.Inbox }

func (q inboxQueue) Known(ctx context.Context, runID int64) (bool, error) {
	_, err := q.ib.Status(ctx, runID)
	if errors.Is(err, inbox.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (q inboxQueue) Enqueue(ctx context.Context, runID int64, payload []byte) (bool, error) {
	res, err := q.ib.Enqueue(ctx, runID, payload)
	return res.Duplicate, err
}
