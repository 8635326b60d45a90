package sync

// Phase is a step of a reconciliation, as Progress reports it.
type Phase string

// The phases of a reconciliation, in order.
const (
	// PhaseComparing: the host folder and the container's copy are read
	// and compared; the totals are not known yet.
	PhaseComparing Phase = "comparing"
	// PhaseCopying: the differing files are sent as one archive.
	PhaseCopying Phase = "copying"
	// PhaseDeleting: what only the container has is removed.
	PhaseDeleting Phase = "deleting"
	// PhaseDone: the reconciliation ended, with or without errors.
	PhaseDone Phase = "done"
)

// Progress is how far a reconciliation has come. Files counts the paths
// (files, folders, links) handled so far of the TotalFiles to copy or
// delete; Bytes counts the file content sent so far of TotalBytes. The
// totals are known from PhaseCopying on. A reconciliation that ends
// without errors reports PhaseDone with Files equal to TotalFiles.
type Progress struct {
	Phase      Phase
	Files      int
	TotalFiles int
	Bytes      int64
	TotalBytes int64
}

// ProgressFunc receives the progress of a reconciliation. It is called
// once per path copied, so it must return quickly. Calls never overlap,
// but some come from the goroutine that writes the archive.
type ProgressFunc func(Progress)
