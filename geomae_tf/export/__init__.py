"""SavedModel export for TF Serving (`export_saved_model`, `export_entry`)."""

from geomae_tf.export.saved_model import export_entry, export_saved_model

__all__ = ["export_entry", "export_saved_model"]
