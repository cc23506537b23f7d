package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/certgate/certgate/internal/keyring"
	"github.com/certgate/certgate/internal/store"
	"github.com/certgate/certgate/internal/store/sqlite"
)

// RotateResult describes a master-key rotation.
type RotateResult struct {
	OldKeyID, NewKeyID string
	Secrets            int
	Revision           int64
	// KeyFile is where the new key is (the data dir's master.key, or the
	// --out file when the old key came from the environment).
	KeyFile string
	// Backup is the old key file kept next to it (mode 0600), if any.
	Backup string
}

// RotateMasterKey re-wraps every sealed secret's data key under a new
// master key, in one store transaction; the sealed data itself is not
// touched. The gateway must be stopped: a running node keeps using the
// key it started with.
//
// With the key in DATA_DIR/master.key, the new key is written first to
// master.key.new (0600), the transaction commits, then master.key.new
// replaces master.key and the old key is kept as master.key.old-<id>.
// With the key in CERTGATE_MASTER_KEY, the new key is written to out and
// the operator updates the environment.
func RotateMasterKey(ctx context.Context, dataDir, out string) (RotateResult, error) {
	var res RotateResult
	keyPath := filepath.Join(dataDir, MasterKeyFile)
	old, fromEnv, err := keyring.FromEnv()
	if err != nil {
		return res, err
	}
	if !fromEnv {
		if old, err = keyring.LoadFile(keyPath); err != nil {
			return res, fmt.Errorf("no master key: %w", err)
		}
	} else if out == "" {
		return res, fmt.Errorf("the master key comes from %s: name a file for the new key with --out", keyring.EnvVar)
	}
	// A serving node holds the directory's lock and keeps using the key it
	// started with: refuse rather than rotate under it.
	unlock, err := lockDataDir(dataDir)
	if err != nil && !errors.Is(err, errLockUnsupported) {
		return res, fmt.Errorf("stop the gateway first: %w", err)
	}
	defer unlock()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: dataDir})
	if err != nil {
		return res, err
	}
	defer st.Close()
	raw, found, err := st.GetMeta(ctx, metaKEKCheck)
	if err != nil {
		return res, err
	}
	if !found {
		return res, errors.New("this data directory has no master-key check value: start the gateway once first")
	}
	var cv keyring.Sealed
	if err := jsonUnmarshal(raw, &cv); err != nil {
		return res, err
	}
	if err := keyring.VerifyCheck(old, cv); err != nil {
		return res, err
	}
	nk, err := keyring.Generate()
	if err != nil {
		return res, err
	}
	res.OldKeyID, res.NewKeyID = old.ID(), nk.ID()

	newPath := out
	if newPath == "" {
		newPath = keyPath + ".new"
	}
	if err := WriteFile0600(newPath, []byte(nk.Encode()+"\n")); err != nil {
		return res, err
	}
	newCV, err := keyring.CheckValue(nk)
	if err != nil {
		return res, err
	}
	cvb, err := jsonMarshal(newCV)
	if err != nil {
		return res, err
	}
	res.Revision, err = st.Update(ctx, store.Actor{Name: "master-key rotate", Via: "cli"}, time.Now(), func(tx store.Tx) error {
		secrets, err := tx.ListSecrets()
		if err != nil {
			return err
		}
		for _, s := range secrets {
			sealed, err := keyring.Rewrap(old, nk, keyring.Sealed{KEKID: s.KEKID, WrappedDEK: s.WrappedDEK, Ciphertext: s.Ciphertext}, keyring.SecretAAD(s.ID))
			if err != nil {
				return fmt.Errorf("secret %s: %w", s.ID, err)
			}
			s.KEKID, s.WrappedDEK, s.Ciphertext = sealed.KEKID, sealed.WrappedDEK, sealed.Ciphertext
			if err := tx.PutSecret(s); err != nil {
				return err
			}
			res.Secrets++
		}
		return tx.SetMeta(metaKEKCheck, cvb)
	})
	if err != nil {
		if out == "" {
			os.Remove(newPath)
		}
		return res, fmt.Errorf("rotation not committed (nothing changed): %w", err)
	}
	res.KeyFile = newPath
	if !fromEnv {
		res.Backup = keyPath + ".old-" + old.ID()
		if err := os.Link(keyPath, res.Backup); err != nil {
			return res, fmt.Errorf("committed under key %s, but keeping the old key failed: %w; the new key is in %s", nk.ID(), err, newPath)
		}
		if err := os.Rename(newPath, keyPath); err != nil {
			return res, fmt.Errorf("committed under key %s, but installing it failed: %w; move %s to %s by hand", nk.ID(), err, newPath, keyPath)
		}
		res.KeyFile = keyPath
	}
	return res, nil
}
