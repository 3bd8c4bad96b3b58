"""Reports: MTTA/MTTR against targets and exports."""
