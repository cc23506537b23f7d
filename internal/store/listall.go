package store

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
