package main

import (
	"archive/tar"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// hostDigest returns the digest of a host folder: md5sum's line
// ("<md5>  ./<path>") for every regular file outside node_modules, sorted
// by path, and the md5 of those lines. md5 is only a fingerprint here, not
// a defence.
func hostDigest(root string) (string, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && filepath.ToSlash(rel) == "node_modules" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			paths = append(paths, "./"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("listing %s: %w", root, err)
	}
	sums := make(map[string]string, len(paths))
	for _, p := range paths {
		sum, err := fileMD5(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(p, "./"))))
		if err != nil {
			return "", err
		}
		sums[p] = sum
	}
	return digestOf(sums), nil
}

// tarDigest returns the digest, as hostDigest computes it, of the regular
// files in a tar stream whose entries are named from base, as the archive
// API names them.
func tarDigest(r io.Reader, base string) (string, error) {
	sums := make(map[string]string)
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading the archive: %w", err)
		}
		rel, ok := strings.CutPrefix(hdr.Name, base+"/")
		if !ok || hdr.Typeflag != tar.TypeReg || rel == "node_modules" || strings.HasPrefix(rel, "node_modules/") {
			continue
		}
		h := md5.New()
		if _, err := io.Copy(h, tr); err != nil {
			return "", fmt.Errorf("reading %s from the archive: %w", hdr.Name, err)
		}
		sums["./"+rel] = hex.EncodeToString(h.Sum(nil))
	}
	return digestOf(sums), nil
}

// digestOf returns the md5 of the lines "<md5>  <path>", sorted by path.
func digestOf(sums map[string]string) string {
	paths := make([]string, 0, len(sums))
	for p := range sums {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := md5.New()
	for _, p := range paths {
		io.WriteString(h, sums[p]+"  "+p+"\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileMD5(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
