"""Imports a module the grading machine does not have."""
import cv2  # noqa: E402,F401
