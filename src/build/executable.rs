//! Executable functions: `build.sh` run in a container of the target architecture, else an existing
//! `<functionName>.zip`, else the folder's files as they are (a prebuilt executable).

use super::recipe::{
    expand_archive, files_as_package, has_source, prebuilt, scripted, Images, Input, Recipe,
    EXECUTABLE_SH,
};

pub fn recipes(input: &Input, images: &Images) -> Result<Vec<Recipe>, String> {
    let name = &input.f.function_name;
    if has_source(input.sources, "build.sh") {
        return Ok(vec![scripted(
            input,
            images,
            false,
            "build.sh in a target-architecture container",
            ("executable.sh", EXECUTABLE_SH),
            &[name],
        )]);
    }
    let zip = format!("{name}.zip");
    if has_source(input.sources, &zip) {
        return Ok(vec![prebuilt(
            images,
            "existing zip",
            expand_archive(&input.dir.join(&zip))?,
        )]);
    }
    Ok(vec![prebuilt(
        images,
        "prebuilt files",
        files_as_package(input.sources),
    )])
}
