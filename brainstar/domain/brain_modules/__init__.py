"""Brain modules from a catalogue: each region model behind one interface, built, simulated and
judged by its gates (the column, the hippocampus, the basal ganglia)."""
