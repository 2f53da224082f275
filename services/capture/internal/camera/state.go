package camera

// State is where a camera's capture loop is.
type State int32

const (
	// StateStarting: the source is being opened for the first time (or
	// again after the camera was idle).
	StateStarting State = iota + 1
	// StateStreaming: frames are flowing.
	StateStreaming
	// StateReconnecting: the source was lost and is being reopened with
	// backoff.
	StateReconnecting
	// StateFailed: the source cannot be opened (it never opened since the
	// camera started, or reconnecting has failed several times in a row);
	// retries go on with backoff.
	StateFailed
	// StateIdle: an on-demand camera without subscribers, its source closed.
	StateIdle
)

// States lists every state, in order.
func States() []State {
	return []State{StateStarting, StateStreaming, StateReconnecting, StateFailed, StateIdle}
}

func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateStreaming:
		return "streaming"
	case StateReconnecting:
		return "reconnecting"
	case StateFailed:
		return "failed"
	case StateIdle:
		return "idle"
	}
	return "unknown"
}

// Healthy reports whether the camera can deliver frames: streaming, or idle
// and ready to open on demand.
func (s State) Healthy() bool {
	return s == StateStreaming || s == StateIdle
}
