"""Reference data: schools, suppliers, pupils, parents and guardianships; IINs and pupil pseudonyms."""
