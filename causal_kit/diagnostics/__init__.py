"""Shared diagnostic maths: pre-trends, balance, overlap, density, weak instruments, refuters."""
