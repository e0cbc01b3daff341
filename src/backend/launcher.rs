//! Recognises a process started by an MPI launcher (mpirun, mpiexec, srun)
//! from its environment alone, without initialising MPI: a plain run must
//! never touch the MPI library.
//!
//! Each launcher family sets its own variables: Open MPI `OMPI_COMM_WORLD_SIZE`
//! and `OMPI_COMM_WORLD_RANK`; MPICH, Intel MPI and Slurm's PMI-2 `PMI_SIZE`
//! and `PMI_RANK`; MVAPICH `MV2_COMM_WORLD_SIZE`; Slurm's `srun`
//! `SLURM_STEP_NUM_TASKS` with `SLURM_PROCID`. `SLURM_NTASKS` alone is not
//! taken: a batch script has it too, and runs once, outside `srun`.

/// Size and rank of the job this process belongs to, as its launcher says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launch {
    pub size: usize,
    pub rank: usize,
}

/// The launch of this process, if an MPI launcher started it.
pub fn detect() -> Option<Launch> {
    detect_from(|k| std::env::var(k).ok())
}

/// [`detect`] over any environment (for tests).
pub fn detect_from(env: impl Fn(&str) -> Option<String>) -> Option<Launch> {
    let num = |k: &str| env(k).and_then(|v| v.trim().parse::<usize>().ok());
    const PAIRS: [(&str, &str); 3] = [
        ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
        ("PMI_SIZE", "PMI_RANK"),
        ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"),
    ];
    for (size, rank) in PAIRS {
        if let Some(size) = num(size).filter(|&s| s >= 1) {
            let rank = num(rank).or_else(|| num("PMIX_RANK")).unwrap_or(0);
            return Some(Launch { size, rank });
        }
    }
    let rank = num("SLURM_PROCID").or_else(|| num("PMIX_RANK"))?;
    let size = num("SLURM_STEP_NUM_TASKS")?;
    (size >= 1).then_some(Launch { size, rank })
}

/// Detection threads per rank under MPI when `--threads` is not given: the
/// CPUs Slurm gave each task, else 1 (ranks usually fill the cores already).
pub fn default_threads_per_rank() -> usize {
    std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn recognises_launchers() {
        assert_eq!(detect_from(env(&[])), None);
        assert_eq!(
            detect_from(env(&[
                ("OMPI_COMM_WORLD_SIZE", "3"),
                ("OMPI_COMM_WORLD_RANK", "2")
            ])),
            Some(Launch { size: 3, rank: 2 })
        );
        assert_eq!(
            detect_from(env(&[("PMI_SIZE", "4"), ("PMI_RANK", "1")])),
            Some(Launch { size: 4, rank: 1 })
        );
        assert_eq!(
            detect_from(env(&[("SLURM_PROCID", "5"), ("SLURM_STEP_NUM_TASKS", "8")])),
            Some(Launch { size: 8, rank: 5 })
        );
        // A batch script: tasks allotted, but no task rank outside srun.
        assert_eq!(
            detect_from(env(&[("SLURM_NTASKS", "8"), ("SLURM_PROCID", "0")])),
            None
        );
        assert_eq!(detect_from(env(&[("PMI_SIZE", "x")])), None);
    }
}
