package source

// Defaults for OpenCV's FFmpeg backend, set in capture's environment before
// the first camera opens, each only when the user has not set it.
//
// OpenCV 4.6 reads these variables itself:
//   - OPENCV_FFMPEG_CAPTURE_OPTIONS: FFmpeg options for every stream it
//     opens ("key;value|key;value"). When the variable is unset OpenCV uses
//     rtsp_transport=tcp and nothing else, so a stalled camera blocks a read
//     until OpenCV's own interrupt callback gives up after 30 s. We keep TCP
//     and add a 3 s socket I/O timeout (FFmpeg >= 5: "timeout" in µs, for
//     rtsp and http, also bounding the connect), so the read of a camera
//     that stops sending returns in about 10 s (OpenCV retries a timed-out
//     read before giving up) instead of 30 s or more, and the source is
//     reopened. The capture loop's watchdog reports such a camera as
//     reconnecting within a few seconds already, while the read still
//     blocks. Shorter timeouts would fail the opening of a camera that is
//     slow to answer its first DESCRIBE.
//     "fpsprobesize;0" ends FFmpeg's stream probe as soon as the video
//     stream's parameters are known (its first key frame decoded) instead
//     of after about a second of frames spent estimating the frame rate,
//     which RTSP gives anyway and capture does not use: an on-demand
//     camera's first viewer waits for that probe (the figures are in
//     docs/benchmarks.md, "first frame").
//     The probe still waits as long as it must for a late key frame (up to
//     FFmpeg's 5 s analyzeduration), unlike a shorter analyzeduration,
//     which would end it at a fixed time whether or not it had seen one.
//   - OPENCV_FFMPEG_LOGLEVEL: FFmpeg's own messages go to stderr by
//     default at "error" level and can contain the stream URL with its
//     password; -8 (quiet) silences them. Capture reports errors itself.
//   - OPENCV_LOG_LEVEL: OpenCV's warnings can also name the stream;
//     SILENT for the same reason.
const (
	defaultCaptureOptions = "rtsp_transport;tcp|timeout;3000000|fpsprobesize;0"
	defaultFFmpegLogLevel = "-8"
	defaultOpenCVLogLevel = "SILENT"
)

// EnvVar is one environment variable to set.
type EnvVar struct {
	Name, Value string
}

// FFmpegEnv returns the OpenCV/FFmpeg variables to set: the defaults above
// for those getenv reports unset.
func FFmpegEnv(getenv func(string) string) []EnvVar {
	var vars []EnvVar
	for _, v := range []EnvVar{
		{"OPENCV_FFMPEG_CAPTURE_OPTIONS", defaultCaptureOptions},
		{"OPENCV_FFMPEG_LOGLEVEL", defaultFFmpegLogLevel},
		{"OPENCV_LOG_LEVEL", defaultOpenCVLogLevel},
	} {
		if getenv(v.Name) == "" {
			vars = append(vars, v)
		}
	}
	return vars
}
