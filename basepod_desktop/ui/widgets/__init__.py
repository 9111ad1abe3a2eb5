"""Reusable widgets: status pills, banners, empty states."""
