"""Getting frames in: ingest API, validation, frame buffer, face detection, participant assignment."""
