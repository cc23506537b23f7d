package store

import "context"

// Lister lists objects: a Tx or a ReadTx.
type Lister interface {
	List(opts ListOptions) (Page, error)
}

// ListAll calls fn for every object of a listing, a page of MaxPageLimit
// at a time, and stops at the first error (a listing's or fn's).
func ListAll(tx Lister, opts ListOptions, fn func(Object) error) error {
	opts.Limit = MaxPageLimit
	for {
		page, err := tx.List(opts)
		if err != nil {
			return err
		}
		for _, o := range page.Objects {
			if err := fn(o); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		opts.After = page.Next
	}
}

// ListPage reads one page of a listing from st and shows each object with
// view: the views and the cursor of the next page ("" at the end). A
// cursor not of this listing is an error wrapping ErrInvalid.
func ListPage[T any](ctx context.Context, st Store, opts ListOptions, view func(Object) (T, error)) ([]T, string, error) {
	page, err := st.List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	out := make([]T, 0, len(page.Objects))
	for _, o := range page.Objects {
		v, err := view(o)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, page.Next, nil
}
