"""What people read: per-student feedback, the class report, exports for LMSs."""
