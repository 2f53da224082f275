package main

import (
	"crypto/sha256"
	"fmt"
	"os"

	"gocv.io/x/gocv"
)

func main() {
	vc, err := gocv.VideoCaptureFileWithAPI(os.Args[1], gocv.VideoCaptureFFmpeg)
	if err != nil || !vc.IsOpened() {
		fmt.Println("open fail", err)
		return
	}
	fmt.Printf("fourcc=%q format=%v w=%v h=%v\n", vc.CodecString(), vc.Get(gocv.VideoCaptureFormat), vc.Get(gocv.VideoCaptureFrameWidth), vc.Get(gocv.VideoCaptureFrameHeight))
	vc.Set(gocv.VideoCaptureFormat, -1); ok := true
	fmt.Println("set", ok, "format now", vc.Get(gocv.VideoCaptureFormat))
	m := gocv.NewMat()
	for i := 0; i < 5; i++ {
		r := vc.Read(&m)
		b := m.ToBytes()
		h := sha256.Sum256(b)
		soi := len(b) > 2 && b[0] == 0xFF && b[1] == 0xD8
		fmt.Printf("read=%v rows=%d cols=%d type=%v len=%d soi=%v sha=%x\n", r, m.Rows(), m.Cols(), m.Type(), len(b), soi, h[:8])
		if len(os.Args) > 2 {
			os.WriteFile(fmt.Sprintf("%s%d.jpg", os.Args[2], i), b, 0o644)
		}
	}
}
